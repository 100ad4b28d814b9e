using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>RoPE inverse frequencies for a config: <c>rope_theta</c> and the <c>rope_scaling</c> kinds we load.</summary>
internal static class RopeFrequencies
{
    public static float[] For(HfConfig config)
    {
        RopeScalingConfig? scaling = config.RopeScaling;
        if (scaling is null) return Rope.InverseFrequencies(config.HeadDim, config.RopeTheta);
        switch (scaling.Type)
        {
            case "llama3":
                return Rope.InverseFrequencies(config.HeadDim, config.RopeTheta, new Llama3RopeScaling(
                    (float)scaling.Factor, (float)scaling.LowFreqFactor!.Value, (float)scaling.HighFreqFactor!.Value,
                    scaling.OriginalMaxPositionEmbeddings!.Value));
            case "linear":
                // Linear position interpolation: positions are divided by the factor, i.e. frequencies are.
                float[] inv = Rope.InverseFrequencies(config.HeadDim, config.RopeTheta);
                for (int i = 0; i < inv.Length; i++) inv[i] /= (float)scaling.Factor;
                return inv;
            default:
                throw new NotSupportedException($"rope_scaling type '{scaling.Type}' is not supported.");
        }
    }
}
