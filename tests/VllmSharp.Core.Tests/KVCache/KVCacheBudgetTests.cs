using VllmSharp.Core.KVCache;
using Xunit;

namespace VllmSharp.Core.Tests.KVCache;

public sealed class KVCacheBudgetTests
{
    [Theory]
    [InlineData("1073741824", 1073741824L)]
    [InlineData("4GiB", 4L * 1024 * 1024 * 1024)]
    [InlineData("4gib", 4L * 1024 * 1024 * 1024)]
    [InlineData(" 512 MiB ", 512L * 1024 * 1024)]
    [InlineData("64KiB", 65536L)]
    [InlineData("1TiB", 1L << 40)]
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("1.5GiB", 1610612736L)]
    [InlineData("100B", 100L)]
    [InlineData("4G", 4L << 30)]
    [InlineData("4g", 4_000_000_000L)]
    [InlineData("25.6k", 25_600L)]
    [InlineData("2K", 2048L)]
    [InlineData("0", 0L)]
    public void ParseBytes_ValidText_ReturnsBytes(string text, long expected) =>
        Assert.Equal(expected, KVCacheBudget.ParseBytes(text));

    [Theory]
    [InlineData("")]
    [InlineData("GiB")]
    [InlineData("-1GiB")]
    [InlineData("4 GiBs")]
    [InlineData("4XB")]
    [InlineData("1.2.3")]
    [InlineData("99999999999TiB")]
    [InlineData("99999999999999999999999")]
    public void ParseBytes_InvalidText_ThrowsNamingText(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => KVCacheBudget.ParseBytes(text));
        Assert.Contains($"'{text}'", error.Message);
    }

    [Fact]
    public void DefaultBytes_SmallMachine_TakesQuarter() =>
        Assert.Equal(2L << 30, KVCacheBudget.DefaultBytes(8L << 30));

    [Fact]
    public void DefaultBytes_LargeMachine_CappedAtFourGiB() =>
        Assert.Equal(4L << 30, KVCacheBudget.DefaultBytes(64L << 30));

    [Fact]
    public void DefaultBytes_ThisMachine_PositiveAndWithinCap()
    {
        long bytes = KVCacheBudget.DefaultBytes();
        Assert.InRange(bytes, 1, KVCacheBudget.DefaultCapBytes);
    }

    [Fact]
    public void NumBlocks_BudgetFitsMaxModelLen_ReturnsWholeBlocks()
    {
        // 3 KiB per 16-token block: floor(2^30 / 3072) = 349525.
        Assert.Equal(349525, KVCacheBudget.NumBlocks(1L << 30, 3072, 16, 32768));
        // Exactly enough: 2048 tokens need 128 blocks of 16.
        Assert.Equal(128, KVCacheBudget.NumBlocks(128 * 1000, 1000, 16, 2048));
        // Partial last block still needs a whole block: 2049 tokens → 129 blocks.
        Assert.Throws<InvalidOperationException>(() => KVCacheBudget.NumBlocks(128 * 1000, 1000, 16, 2049));
    }

    [Fact]
    public void NumBlocks_BudgetTooSmall_ThrowsWithClearMessage()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            KVCacheBudget.NumBlocks(512L << 20, 64L << 20, 16, 2048));
        Assert.Equal(
            "KV cache of 0.5 GiB holds 8 blocks of 16 tokens = 128 tokens; max_model_len 2048 needs 128 blocks; " +
            "raise --kv-cache-memory or lower --max-model-len.",
            error.Message);
    }
}
