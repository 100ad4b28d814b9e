namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// vLLM's random dataset: input lengths uniform in [⌊L·(1−r)⌋, ⌈L·(1+r)⌉] (L = input length minus the special tokens
/// the tokenizer adds), output lengths likewise (at least 1), an optional shared random prefix, and each prompt a run
/// of consecutive text-token ids from a random offset. Decoding then re-encoding can merge or split tokens, so the
/// sequence is re-encoded and trimmed or padded until it has the target length (vLLM's decode-to-target-length).
/// </summary>
public static class RandomDataset
{
    private const int MaxRetries = 10;

    /// <param name="tokenizer">Null: prompts are random words and their length is counted in words.</param>
    public static List<SampleRequest> Sample(IPromptTokenizer? tokenizer, int numRequests, int inputLen, int outputLen, double rangeRatio,
        int prefixLen, Random random)
    {
        if (!(rangeRatio >= 0 && rangeRatio < 1)) throw new ArgumentException("--random-range-ratio must be in [0, 1).");
        if (inputLen < 0 || outputLen < 1 || prefixLen < 0) throw new ArgumentException("--random-input-len and --random-prefix-len must be ≥ 0, --random-output-len ≥ 1.");
        int realInputLen = Math.Max(0, inputLen - (tokenizer?.NumSpecialTokens ?? 0));
        (int inLow, int inHigh) = Bounds(realInputLen, rangeRatio);
        (int outLow, int outHigh) = Bounds(outputLen, rangeRatio);
        (outLow, outHigh) = (Math.Max(outLow, 1), Math.Max(outHigh, 1));
        if (prefixLen + inLow < 1) throw new ArgumentException($"--random-input-len is too small: the shortest prompt would have {prefixLen + inLow} tokens.");

        var inputLens = new int[numRequests];
        var outputLens = new int[numRequests];
        var offsets = new int[numRequests];
        for (int i = 0; i < numRequests; i++) inputLens[i] = random.Next(inLow, inHigh + 1);
        for (int i = 0; i < numRequests; i++) outputLens[i] = random.Next(outLow, outHigh + 1);
        for (int i = 0; i < numRequests; i++) offsets[i] = random.Next();

        var requests = new List<SampleRequest>(numRequests);
        if (tokenizer is null)
        {
            string prefixWords = prefixLen > 0 ? RandomWords.Next(random, prefixLen) + " " : "";
            for (int i = 0; i < numRequests; i++)
                requests.Add(new SampleRequest(prefixWords + RandomWords.Next(random, inputLens[i]), prefixLen + inputLens[i], outputLens[i]));
            return requests;
        }

        int[] prefix = RandomTokens(tokenizer, random, prefixLen);
        for (int i = 0; i < numRequests; i++)
        {
            int[] inner = tokenizer.TextTokenIds is int[] ids ? Consecutive(ids, offsets[i] + i, inputLens[i]) : RandomTokens(tokenizer, random, inputLens[i]);
            (string prompt, int length) = DecodeToTargetLength(tokenizer, [.. prefix, .. inner], prefixLen + inputLens[i], random);
            requests.Add(new SampleRequest(prompt, length, outputLens[i]));
        }
        return requests;
    }

    /// <summary>The inclusive range [⌊n·(1−r)⌋, ⌈n·(1+r)⌉].</summary>
    public static (int Low, int High) Bounds(int n, double rangeRatio)
        => ((int)Math.Floor(n * (1 - rangeRatio)), (int)Math.Ceiling(n * (1 + rangeRatio)));

    private static int[] Consecutive(int[] ids, int start, int count)
    {
        var result = new int[count];
        for (int k = 0; k < count; k++) result[k] = ids[(int)(((long)start + k) % ids.Length)];
        return result;
    }

    private static int[] RandomTokens(IPromptTokenizer tokenizer, Random random, int count)
    {
        if (count == 0) return [];
        if (tokenizer.TextTokenIds is int[] ids)
        {
            var result = new int[count];
            for (int k = 0; k < count; k++) result[k] = ids[random.Next(ids.Length)];
            return result;
        }
        var tokens = new List<int>(count);
        while (tokens.Count < count) tokens.AddRange(tokenizer.Encode(" " + RandomWords.Next(random, count - tokens.Count + 1)));
        return [.. tokens.GetRange(0, count)];
    }

    /// <summary>Decodes, re-encodes, and trims or pads until the text encodes to exactly <paramref name="target"/> tokens (bounded retries).</summary>
    private static (string Prompt, int Length) DecodeToTargetLength(IPromptTokenizer tokenizer, int[] sequence, int target, Random random)
    {
        string prompt = tokenizer.Decode(sequence);
        for (int attempt = 0; attempt < MaxRetries; attempt++)
        {
            int[] encoded = tokenizer.Encode(prompt);
            if (encoded.Length == target) return (prompt, target);
            sequence = encoded.Length > target ? encoded[..target] : [.. encoded, .. RandomTokens(tokenizer, random, target - encoded.Length)];
            prompt = tokenizer.Decode(sequence);
        }
        return (prompt, tokenizer.Encode(prompt).Length);
    }
}
