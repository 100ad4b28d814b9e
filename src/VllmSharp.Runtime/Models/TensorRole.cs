namespace VllmSharp.Runtime.Models;

/// <summary>What a checkpoint tensor is for; decides how test weights are initialised and how it is loaded.</summary>
public enum TensorRole
{
    /// <summary>Token embedding table [vocab, hidden].</summary>
    Embedding,
    /// <summary>A linear layer's weight [out, in].</summary>
    Linear,
    /// <summary>An RMSNorm scale vector.</summary>
    Norm,
    /// <summary>A linear layer's bias vector.</summary>
    Bias,
    /// <summary>The untied output projection [vocab, hidden].</summary>
    LmHead,
}
