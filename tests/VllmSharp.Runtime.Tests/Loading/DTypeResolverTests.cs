using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class DTypeResolverTests
{
    [Theory]
    [InlineData("auto", DType.BF16, DType.BF16)]
    [InlineData("auto", DType.F16, DType.F16)]
    [InlineData("auto", DType.F32, DType.F16)] // vLLM runs f32 checkpoints in f16 under auto
    [InlineData("half", DType.BF16, DType.F16)]
    [InlineData("float16", DType.F32, DType.F16)]
    [InlineData("bfloat16", DType.F16, DType.BF16)]
    [InlineData("float", DType.BF16, DType.F32)]
    [InlineData("float32", DType.BF16, DType.F32)]
    public void Resolve_Flag_FollowsVllm(string flag, DType config, DType expected) =>
        Assert.Equal(expected, DTypeResolver.Resolve(flag, config));

    [Fact]
    public void Resolve_AutoWithoutConfigDtype_TreatsCheckpointAsFloat32() =>
        Assert.Equal(DType.F16, DTypeResolver.Resolve("auto", null));

    [Fact]
    public void Resolve_InvalidValue_ThrowsListingChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => DTypeResolver.Resolve("int8", DType.BF16));
        Assert.Contains("'int8'", e.Message);
        Assert.Contains("auto, half, float16, bfloat16, float, float32", e.Message);
    }
}
