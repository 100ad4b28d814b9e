using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// A named model shape for writing test models. <see cref="FamilyBosTokenId"/> and
/// <see cref="FamilyEosTokenIds"/> are the special-token ids of the real model family's tokenizer: the config uses
/// them whenever they fit the vocabulary, otherwise bos 1 and eos 2 (a tiny vocabulary has no such ids).
/// </summary>
public sealed record TestModelPreset(string Name, HfConfig Config, int FamilyBosTokenId, int[] FamilyEosTokenIds)
{
    /// <summary>The same shape with another vocabulary size (e.g. a real tokenizer's), special ids re-derived.</summary>
    public TestModelPreset WithVocabSize(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 3);
        bool fits = FamilyBosTokenId < vocabSize && Array.TrueForAll(FamilyEosTokenIds, id => id < vocabSize);
        return this with
        {
            Config = Config with
            {
                VocabSize = vocabSize,
                BosTokenId = fits ? FamilyBosTokenId : 1,
                EosTokenIds = fits ? FamilyEosTokenIds : [2],
            },
        };
    }

    /// <summary>Number of weights in a checkpoint of this shape (tied embeddings counted once).</summary>
    public long ParameterCount
    {
        get
        {
            long n = 0;
            foreach (var spec in Models.DecoderTensorLayout.Enumerate(Config)) n += spec.ElementCount;
            return n;
        }
    }
}
