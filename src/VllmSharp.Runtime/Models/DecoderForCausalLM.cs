using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>
/// The Llama-style decoder shared by Llama, Mistral, Qwen2 and Qwen3: token embedding, N × (RMSNorm → attention
/// with RoPE over the paged KV cache → RMSNorm → SwiGLU MLP) with residuals, final RMSNorm, LM head. The
/// architectures differ only in the switches an <see cref="ArchitectureTraits"/> and the config set.
/// </summary>
public class DecoderForCausalLM : ICausalLM
{
    private readonly IWeightSource _weights;
    private readonly WeightMatrix _embedTokens;
    private readonly WeightMatrix _lmHead;
    private readonly float[] _finalNorm;
    private readonly DecoderLayerWeights[] _layers;
    private readonly float[] _invFreq;
    private readonly DecoderActivations _act;
    private readonly int _hidden, _numHeads, _numKvHeads, _headDim, _inter, _qSize, _kvSize;
    private readonly float _eps, _scale;
    private readonly int _slidingWindow;

    protected DecoderForCausalLM(HfConfig config, IWeightSource weights, ArchitectureTraits traits)
    {
        Config = config;
        Traits = traits;
        _weights = weights;
        _hidden = config.HiddenSize;
        _numHeads = config.NumAttentionHeads;
        _numKvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _inter = config.IntermediateSize;
        _qSize = _numHeads * _headDim;
        _kvSize = _numKvHeads * _headDim;
        _eps = (float)config.RmsNormEps;
        _scale = 1f / MathF.Sqrt(_headDim);
        _slidingWindow = config.SlidingWindow ?? 0;

        _embedTokens = weights.GetMatrix("model.embed_tokens.weight", config.VocabSize, _hidden);
        _lmHead = config.TieWordEmbeddings ? _embedTokens : weights.GetMatrix("lm_head.weight", config.VocabSize, _hidden);
        _finalNorm = weights.GetVector("model.norm.weight", _hidden);
        _layers = new DecoderLayerWeights[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
            _layers[i] = DecoderLayerWeights.Load(weights, config, i, traits.QkNorm);
        _invFreq = RopeFrequencies.For(config);
        _act = new DecoderActivations(_hidden, _qSize, _kvSize, _inter, _invFreq.Length, config.VocabSize);
    }

    public HfConfig Config { get; }
    public ArchitectureTraits Traits { get; }
    public DType DType => _weights.DType;
    public int VocabSize => Config.VocabSize;
    public int NumLayers => _layers.Length;
    public int NumKvHeads => _numKvHeads;
    public int HeadDim => _headDim;

    /// <summary>Bytes of weights one decode step reads (every matrix once; the embedding table only a row).</summary>
    public long WeightBytesPerToken => SumOverMatrices(static w => w.SizeInBytes);

    /// <summary>Weights multiplied per token (2 FLOPs each), whatever their storage type.</summary>
    public long MatMulParametersPerToken => SumOverMatrices(static w => (long)w.Rows * w.Cols);

    private long SumOverMatrices(Func<WeightMatrix, long> measure)
    {
        long total = measure(_lmHead);
        foreach (DecoderLayerWeights l in _layers)
            total += measure(l.QkvProj[0]) + measure(l.QkvProj[1]) + measure(l.QkvProj[2]) + measure(l.OProj)
                   + measure(l.GateUpProj[0]) + measure(l.GateUpProj[1]) + measure(l.DownProj);
        return total;
    }

    public long LmHeadParameters => (long)_lmHead.Rows * _lmHead.Cols;

    public ReadOnlySpan<float> Forward(ForwardBatch batch, KVCacheTensors kvCache)
    {
        int n = batch.NumTokens;
        if (n == 0) return [];
        _act.EnsureCapacity(n, Math.Max(1, batch.NumLogits));
        ValidateBatch(batch, kvCache);

        Span<float> residual = _act.Residual.AsSpan(0, n * _hidden);
        Span<float> normed = _act.Normed.AsSpan(0, n * _hidden);
        Span<float> cos = _act.Cos.AsSpan(0, n * _invFreq.Length);
        Span<float> sin = _act.Sin.AsSpan(0, n * _invFreq.Length);

        Embedding.Lookup(_embedTokens, batch.TokenIds, residual);
        Rope.ComputeCosSin(batch.Positions, _invFreq, cos, sin);
        var meta = new AttentionMetadata(batch.QueryStartLoc, batch.SeqLens, batch.BlockTables, batch.MaxBlocksPerSeq, kvCache.BlockSize);

        // The residual stream is updated in place; each sub-block's output is added to it by the next fused norm.
        Span<float> pending = default;
        for (int i = 0; i < _layers.Length; i++)
        {
            DecoderLayerWeights layer = _layers[i];
            NormInto(residual, pending, layer.InputLayerNorm, normed);
            pending = Attention(layer, normed, n, batch, kvCache.Keys[i], kvCache.Values[i], in meta);
            NormInto(residual, pending, layer.PostAttentionLayerNorm, normed);
            pending = Mlp(layer, normed, n);
        }
        NormInto(residual, pending, _finalNorm, normed);
        return LmHead(batch, normed);
    }

    private void NormInto(Span<float> residual, Span<float> pending, float[] weight, Span<float> normed)
    {
        if (pending.IsEmpty) RmsNorm.Forward(residual, weight, _eps, normed);
        else RmsNorm.AddAndForward(residual, pending, weight, _eps, normed);
    }

    private Span<float> Attention(DecoderLayerWeights layer, Span<float> normed, int n, ForwardBatch batch,
        float[] kCache, float[] vCache, scoped in AttentionMetadata meta)
    {
        Span<float> qkv = _act.Qkv.AsSpan(0, n * (_qSize + 2 * _kvSize));
        MatMul.Forward(normed, n, layer.QkvProj, qkv);
        Span<float> q = qkv[..(n * _qSize)];
        Span<float> k = qkv.Slice(n * _qSize, n * _kvSize);
        Span<float> v = qkv.Slice(n * (_qSize + _kvSize), n * _kvSize);
        if (layer.QBias is not null)
        {
            BiasAdd.Forward(q, layer.QBias);
            BiasAdd.Forward(k, layer.KBias!);
            BiasAdd.Forward(v, layer.VBias!);
        }
        if (layer.QNorm is not null)
        {
            RmsNorm.Forward(q, layer.QNorm, _eps, q);
            RmsNorm.Forward(k, layer.KNorm!, _eps, k);
        }
        ReadOnlySpan<float> cos = _act.Cos.AsSpan(0, n * _invFreq.Length);
        ReadOnlySpan<float> sin = _act.Sin.AsSpan(0, n * _invFreq.Length);
        Rope.Apply(q, _numHeads, _headDim, cos, sin, Traits.RopeStyle);
        Rope.Apply(k, _numKvHeads, _headDim, cos, sin, Traits.RopeStyle);

        PagedAttention.WriteKV(k, v, batch.SlotMapping, kCache, vCache, _numKvHeads, _headDim, meta.BlockSize);
        Span<float> attnOut = _act.AttnOut.AsSpan(0, n * _qSize);
        PagedAttention.Forward(q, kCache, vCache, attnOut, in meta, _numHeads, _numKvHeads, _headDim, _scale, _slidingWindow);

        Span<float> projected = _act.Projected.AsSpan(0, n * _hidden);
        MatMul.Forward(attnOut, n, layer.OProj, projected);
        if (layer.OBias is not null) BiasAdd.Forward(projected, layer.OBias);
        return projected;
    }

    private Span<float> Mlp(DecoderLayerWeights layer, Span<float> normed, int n)
    {
        Span<float> gateUp = _act.GateUp.AsSpan(0, n * 2 * _inter);
        MatMul.Forward(normed, n, layer.GateUpProj, gateUp);
        Span<float> act = _act.Act.AsSpan(0, n * _inter);
        Activations.SiluAndMul(gateUp[..(n * _inter)], gateUp[(n * _inter)..], act);
        Span<float> projected = _act.Projected.AsSpan(0, n * _hidden);
        MatMul.Forward(act, n, layer.DownProj, projected);
        return projected;
    }

    /// <summary>Gathers the final-normed rows whose logits were asked for and projects only those.</summary>
    private ReadOnlySpan<float> LmHead(ForwardBatch batch, Span<float> normed)
    {
        int rows = batch.NumLogits;
        if (rows == 0) return [];
        Span<float> hidden = _act.LogitsHidden.AsSpan(0, rows * _hidden);
        for (int r = 0; r < rows; r++)
            normed.Slice(batch.LogitsIndices[r] * _hidden, _hidden).CopyTo(hidden.Slice(r * _hidden, _hidden));
        Span<float> logits = _act.Logits.AsSpan(0, rows * VocabSize);
        MatMul.Forward(hidden, rows, _lmHead, logits);
        return logits;
    }

    private void ValidateBatch(ForwardBatch batch, KVCacheTensors kvCache)
    {
        if (kvCache.NumKvHeads != _numKvHeads || kvCache.HeadDim != _headDim || kvCache.Keys.Length != _layers.Length)
            throw new ArgumentException("The KV cache was built for a different model shape.", nameof(kvCache));
        long slots = (long)kvCache.NumBlocks * kvCache.BlockSize;
        foreach (int id in batch.TokenIds)
            if ((uint)id >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"Token id {id} is outside the vocabulary (size {VocabSize}).");
        foreach (int slot in batch.SlotMapping)
            if (slot >= slots) throw new ArgumentOutOfRangeException(nameof(batch), $"Slot {slot} is outside the KV cache ({slots} slots).");
        foreach (int row in batch.LogitsIndices)
            if ((uint)row >= (uint)batch.NumTokens) throw new ArgumentOutOfRangeException(nameof(batch), $"Logits row {row} is not in the batch.");
    }

    public void Dispose()
    {
        _weights.Dispose();
        GC.SuppressFinalize(this);
    }
}
