namespace VllmSharp.Runtime.Models;

/// <summary>
/// Scratch buffers for one forward pass, sized for the largest batch seen so far and then reused, so a steady
/// stream of steps allocates nothing.
/// </summary>
internal sealed class DecoderActivations
{
    private readonly int _hidden, _qSize, _kvSize, _inter, _rotaryHalf, _vocab;

    public DecoderActivations(int hidden, int qSize, int kvSize, int inter, int rotaryHalf, int vocab)
    {
        (_hidden, _qSize, _kvSize, _inter, _rotaryHalf, _vocab) = (hidden, qSize, kvSize, inter, rotaryHalf, vocab);
    }

    public int TokenCapacity { get; private set; }
    public int LogitsCapacity { get; private set; }

    public float[] Residual { get; private set; } = [];
    public float[] Normed { get; private set; } = [];
    public float[] Qkv { get; private set; } = [];
    public float[] AttnOut { get; private set; } = [];
    public float[] Projected { get; private set; } = [];
    public float[] GateUp { get; private set; } = [];
    public float[] Act { get; private set; } = [];
    public float[] Cos { get; private set; } = [];
    public float[] Sin { get; private set; } = [];
    public float[] LogitsHidden { get; private set; } = [];
    public float[] Logits { get; private set; } = [];

    public void EnsureCapacity(int numTokens, int numLogits)
    {
        if (numTokens > TokenCapacity)
        {
            int n = numTokens;
            Residual = new float[n * _hidden];
            Normed = new float[n * _hidden];
            Qkv = new float[n * (_qSize + 2 * _kvSize)];
            AttnOut = new float[n * _qSize];
            Projected = new float[n * _hidden];
            GateUp = new float[n * 2 * _inter];
            Act = new float[n * _inter];
            Cos = new float[n * _rotaryHalf];
            Sin = new float[n * _rotaryHalf];
            TokenCapacity = n;
        }
        if (numLogits > LogitsCapacity)
        {
            LogitsHidden = new float[numLogits * _hidden];
            Logits = new float[(long)numLogits * _vocab];
            LogitsCapacity = numLogits;
        }
    }
}
