namespace VllmSharp.Engine.Outputs;

/// <summary>
/// Finds a stop string that the newest text completed (vLLM's <c>check_stop_strings</c>). Only
/// matches that end inside the new text count: anything earlier was checked on an earlier step,
/// so each step costs O(new text + longest stop string), not O(whole text).
/// </summary>
internal static class StopStringMatcher
{
    /// <summary>
    /// Returns the start of the earliest match that ends after <paramref name="newTextStart"/>, or
    /// -1; <paramref name="stopIndex"/> is the index in <paramref name="stops"/> of the string
    /// found (on a tie, the one listed first).
    /// </summary>
    public static int Find(ReadOnlySpan<char> text, int newTextStart, IReadOnlyList<string> stops, out int stopIndex)
    {
        stopIndex = -1;
        int best = -1;
        for (int s = 0; s < stops.Count; s++)
        {
            string stop = stops[s];
            // A match must overlap the new text, so it starts no earlier than this.
            int from = Math.Max(0, newTextStart - stop.Length + 1);
            if (best >= 0 && from >= best)
            {
                continue; // cannot beat the match already found
            }

            int at = text[from..].IndexOf(stop.AsSpan(), StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            at += from;
            if (best < 0 || at < best)
            {
                best = at;
                stopIndex = s;
            }
        }

        return best;
    }
}
