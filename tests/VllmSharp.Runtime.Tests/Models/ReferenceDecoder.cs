using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Tests.Models;

/// <summary>
/// An independent, deliberately plain implementation of the Llama/Qwen decoder for tests: one sequence at a
/// time, contiguous K/V, every position recomputed, double-precision accumulation, no kernels of ours except
/// the dtype conversion of the weights. Logits of every position of <paramref name="tokens"/> are returned.
/// </summary>
internal sealed class ReferenceDecoder
{
    private readonly HfConfig _c;
    private readonly IWeightSource _w;
    private readonly bool _qkNorm;
    private readonly Dictionary<string, float[]> _cache = [];

    public ReferenceDecoder(HfConfig config, IWeightSource weights, bool qkNorm)
    {
        _c = config;
        _w = weights;
        _qkNorm = qkNorm;
    }

    public float[][] Logits(int[] tokens)
    {
        int n = tokens.Length, h = _c.HiddenSize, d = _c.HeadDim, heads = _c.NumAttentionHeads, kvHeads = _c.NumKeyValueHeads;
        float[] embed = Matrix("model.embed_tokens.weight", _c.VocabSize, h);
        var x = new double[n][];
        for (int t = 0; t < n; t++) x[t] = Enumerable.Range(0, h).Select(i => (double)embed[tokens[t] * h + i]).ToArray();

        for (int layer = 0; layer < _c.NumHiddenLayers; layer++)
        {
            string p = $"model.layers.{layer}.";
            var q = new double[n][]; var k = new double[n][]; var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                double[] normed = Norm(x[t], Vector(p + "input_layernorm.weight", h));
                q[t] = Linear(normed, p + "self_attn.q_proj", heads * d, h);
                k[t] = Linear(normed, p + "self_attn.k_proj", kvHeads * d, h);
                v[t] = Linear(normed, p + "self_attn.v_proj", kvHeads * d, h);
                if (_qkNorm)
                {
                    q[t] = NormHeads(q[t], heads, d, Vector(p + "self_attn.q_norm.weight", d));
                    k[t] = NormHeads(k[t], kvHeads, d, Vector(p + "self_attn.k_norm.weight", d));
                }
                Rotate(q[t], heads, d, t);
                Rotate(k[t], kvHeads, d, t);
            }
            for (int t = 0; t < n; t++)
            {
                var attn = new double[heads * d];
                for (int head = 0; head < heads; head++)
                {
                    int kvHead = head / (heads / kvHeads);
                    int first = _c.SlidingWindow is int w && w > 0 ? Math.Max(0, t - w + 1) : 0;
                    var scores = new double[t + 1 - first];
                    for (int s = first; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += q[t][head * d + i] * k[s][kvHead * d + i];
                        scores[s - first] = dot / Math.Sqrt(d);
                    }
                    double max = scores.Max(), sum = 0;
                    for (int s = 0; s < scores.Length; s++) sum += scores[s] = Math.Exp(scores[s] - max);
                    for (int s = first; s <= t; s++)
                        for (int i = 0; i < d; i++) attn[head * d + i] += scores[s - first] / sum * v[s][kvHead * d + i];
                }
                bool oBias = _c.AttentionBias && _c.Architecture != HfConfig.Qwen2;
                double[] o = Linear(attn, p + "self_attn.o_proj", h, heads * d, bias: oBias);
                for (int i = 0; i < h; i++) x[t][i] += o[i];
                double[] normed = Norm(x[t], Vector(p + "post_attention_layernorm.weight", h));
                double[] gate = Linear(normed, p + "mlp.gate_proj", _c.IntermediateSize, h, bias: false);
                double[] up = Linear(normed, p + "mlp.up_proj", _c.IntermediateSize, h, bias: false);
                for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                double[] down = Linear(gate, p + "mlp.down_proj", h, _c.IntermediateSize, bias: false);
                for (int i = 0; i < h; i++) x[t][i] += down[i];
            }
        }
        string lmHead = _c.TieWordEmbeddings ? "model.embed_tokens" : "lm_head";
        return x.Select(row => Linear(Norm(row, Vector("model.norm.weight", h)), lmHead, _c.VocabSize, h, bias: false)
            .Select(value => (float)value).ToArray()).ToArray();
    }

    private double[] Norm(double[] x, float[] weight)
    {
        double ms = x.Sum(value => value * value) / x.Length;
        double scale = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((value, i) => value * scale * weight[i]).ToArray();
    }

    private double[] NormHeads(double[] x, int heads, int d, float[] weight)
        => Enumerable.Range(0, heads).SelectMany(head => Norm(x[(head * d)..((head + 1) * d)], weight)).ToArray();

    /// <summary>NeoX-style RoPE (pairs i and i + d/2) at position <paramref name="pos"/>.</summary>
    private void Rotate(double[] x, int heads, int d, int pos)
    {
        for (int head = 0; head < heads; head++)
            for (int i = 0; i < d / 2; i++)
            {
                double angle = pos * Frequency(i, d);
                int a = head * d + i, b = a + d / 2;
                (x[a], x[b]) = (x[a] * Math.Cos(angle) - x[b] * Math.Sin(angle), x[b] * Math.Cos(angle) + x[a] * Math.Sin(angle));
            }
    }

    /// <summary>rope_theta^(-2i/d), with HF's "llama3" or "linear" rope_scaling applied when configured.</summary>
    private double Frequency(int i, int d)
    {
        double freq = Math.Pow(_c.RopeTheta, -2.0 * i / d);
        RopeScalingConfig? s = _c.RopeScaling;
        if (s is null) return freq;
        if (s.Type == "linear") return freq / s.Factor;
        double wavelen = 2 * Math.PI / freq;
        double lowWavelen = s.OriginalMaxPositionEmbeddings!.Value / s.LowFreqFactor!.Value;
        double highWavelen = s.OriginalMaxPositionEmbeddings!.Value / s.HighFreqFactor!.Value;
        if (wavelen < highWavelen) return freq;
        if (wavelen > lowWavelen) return freq / s.Factor;
        double smooth = (s.OriginalMaxPositionEmbeddings!.Value / wavelen - s.LowFreqFactor!.Value) / (s.HighFreqFactor!.Value - s.LowFreqFactor!.Value);
        return (1 - smooth) * freq / s.Factor + smooth * freq;
    }

    private double[] Linear(double[] x, string name, int rows, int cols, bool? bias = null)
    {
        float[] w = Matrix(name + ".weight", rows, cols);
        float[]? b = (bias ?? _c.AttentionBias) ? Vector(name + ".bias", rows) : null;
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = b?[r] ?? 0;
            for (int i = 0; i < cols; i++) sum += x[i] * w[r * cols + i];
            y[r] = sum;
        }
        return y;
    }

    private float[] Matrix(string name, int rows, int cols)
    {
        if (_cache.TryGetValue(name, out float[]? cached)) return cached;
        WeightMatrix m = _w.GetMatrix(name, rows, cols);
        var values = new float[rows * cols];
        DTypeConvert.ToSingle(m.Data, m.Type, values);
        return _cache[name] = values;
    }

    private float[] Vector(string name, int length) => _cache.TryGetValue(name, out float[]? v) ? v : _cache[name] = _w.GetVector(name, length);
}
