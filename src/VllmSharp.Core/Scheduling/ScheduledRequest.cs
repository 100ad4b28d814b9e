using VllmSharp.Core.Requests;

namespace VllmSharp.Core.Scheduling;

/// <summary>
/// One request's share of a step: tokens [<see cref="NumComputedTokens"/>, + <see cref="NumScheduledTokens"/>)
/// of its token ids are computed, with K/V written through <see cref="BlockIds"/>.
/// </summary>
public sealed record ScheduledRequest(Request Request, int NumComputedTokens, int NumScheduledTokens, IReadOnlyList<int> BlockIds)
{
    /// <summary>True when this step reaches the request's last known token, so a new token is sampled.</summary>
    public bool SamplesToken => NumComputedTokens + NumScheduledTokens >= Request.NumTokens;
}
