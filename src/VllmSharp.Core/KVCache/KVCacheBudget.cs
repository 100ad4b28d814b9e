using System.Globalization;

namespace VllmSharp.Core.KVCache;

/// <summary>
/// How much memory the KV cache gets and how many blocks that makes. Sizes are written as vLLM's command line
/// accepts them, plus explicit byte units.
/// </summary>
public static class KVCacheBudget
{
    /// <summary>Share of available memory the cache takes by default.</summary>
    public const double DefaultFraction = 0.25;
    /// <summary>Upper bound of the default: vLLM's CPU backend default KV space (VLLM_CPU_KVCACHE_SPACE) of 4 GiB.</summary>
    public const long DefaultCapBytes = 4L << 30;

    /// <summary>
    /// Parses a size into bytes. Accepted: a plain integer ("1073741824"); a number with a byte unit, case-insensitive
    /// ("512MiB", "4 GiB", "2GB", "1.5GiB", "100B", "64KiB"), where KiB/MiB/GiB/TiB are powers of 1024 and
    /// KB/MB/GB/TB powers of 1000; or vLLM's single-letter suffixes, where lowercase k/m/g/t are decimal and
    /// uppercase K/M/G/T binary ("4G" = 4 GiB, "4g" = 4·10⁹). Anything else — empty, negative, unknown unit,
    /// too large for a long — throws <see cref="ArgumentException"/> naming the text.
    /// </summary>
    public static long ParseBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        int numberEnd = 0;
        while (numberEnd < s.Length && (char.IsAsciiDigit(s[numberEnd]) || s[numberEnd] == '.')) numberEnd++;
        ReadOnlySpan<char> number = s[..numberEnd];
        ReadOnlySpan<char> unit = s[numberEnd..].TrimStart();

        if (number.IsEmpty || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
            throw Invalid(text);
        decimal multiplier = Multiplier(unit) ?? throw Invalid(text);
        if (value > long.MaxValue) throw Invalid(text);
        decimal bytes;
        try { bytes = decimal.Floor(value * multiplier); }
        catch (OverflowException) { throw Invalid(text); }
        if (bytes > long.MaxValue) throw Invalid(text);
        return (long)bytes;
    }

    /// <summary>The default budget when --kv-cache-memory is absent: <see cref="DefaultBytes(long)"/> of the memory the GC sees as available.</summary>
    public static long DefaultBytes() => DefaultBytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>
    /// 25 % of <paramref name="availableBytes"/>, at most 4 GiB: weights (memory-mapped) and activations need the
    /// rest, and a quarter leaves room for both on small machines while the cap keeps big hosts from reserving
    /// more than a CPU engine can fill at its speed.
    /// </summary>
    public static long DefaultBytes(long availableBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(availableBytes);
        return Math.Min((long)(availableBytes * DefaultFraction), DefaultCapBytes);
    }

    /// <summary>
    /// Blocks that fit in <paramref name="budgetBytes"/>. Throws <see cref="InvalidOperationException"/> when they
    /// cannot hold one sequence of <paramref name="maxModelLen"/> tokens, since such a request could never finish.
    /// </summary>
    public static int NumBlocks(long budgetBytes, long bytesPerBlock, int blockSize, int maxModelLen)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerBlock);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxModelLen);
        int numBlocks = (int)Math.Min(budgetBytes / bytesPerBlock, int.MaxValue);
        int neededBlocks = (int)(((long)maxModelLen + blockSize - 1) / blockSize);
        if (numBlocks < neededBlocks)
        {
            string size = (budgetBytes / (double)(1L << 30)).ToString("0.###", CultureInfo.InvariantCulture);
            throw new InvalidOperationException(
                $"KV cache of {size} GiB holds {numBlocks} blocks of {blockSize} tokens = {(long)numBlocks * blockSize} tokens; " +
                $"max_model_len {maxModelLen} needs {neededBlocks} blocks; raise --kv-cache-memory or lower --max-model-len.");
        }
        return numBlocks;
    }

    private static decimal? Multiplier(ReadOnlySpan<char> unit)
    {
        if (unit.IsEmpty) return 1m;
        if (unit.Length == 1)
        {
            // vLLM's human_readable_int: the letter's case picks decimal (k) or binary (K).
            return unit[0] switch
            {
                'k' => 1e3m, 'm' => 1e6m, 'g' => 1e9m, 't' => 1e12m,
                'K' => 1024m, 'M' => 1024m * 1024, 'G' => 1024m * 1024 * 1024, 'T' => 1024m * 1024 * 1024 * 1024,
                'b' or 'B' => 1m,
                _ => null,
            };
        }
        string lower = unit.ToString().ToLowerInvariant();
        return lower switch
        {
            "kb" => 1e3m, "mb" => 1e6m, "gb" => 1e9m, "tb" => 1e12m,
            "kib" => 1024m, "mib" => 1024m * 1024, "gib" => 1024m * 1024 * 1024, "tib" => 1024m * 1024 * 1024 * 1024,
            _ => null,
        };
    }

    private static ArgumentException Invalid(string text) => new(
        $"Invalid memory size '{text}': expected bytes as a number with an optional unit, e.g. 4GiB, 512MiB, 2GB or 1073741824.",
        nameof(text));
}
