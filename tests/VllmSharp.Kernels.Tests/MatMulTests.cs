using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public sealed unsafe class MatMulTests
{
    // Tolerance: |y - ref| ≤ 1e-5 · Σ|x_c·w_c| per element. The reference accumulates in double; the kernels in f32
    // with lane-blocked sums, whose rounding error is about (k/lanes + lanes)·2^-24·Σ|x·w| ≈ 5e-6 for k ≤ 1000.
    // Any wrong element, index or missing term is orders of magnitude larger than this.
    private const double RelativeTolerance = 1e-5;

    public static TheoryData<int, DType, int> TierDTypePath()
    {
        var data = new TheoryData<int, DType, int>();
        foreach (int tier in new[] { 1, 2, 3 })
            foreach (DType type in new[] { DType.F32, DType.F16, DType.BF16 })
                foreach (int path in new[] { 1, 2 })
                    data.Add(tier, type, path);
        return data;
    }

    [Theory]
    [MemberData(nameof(TierDTypePath))]
    public void Forward_OddShapesEveryTierDTypeAndPath_MatchesReference(int tier, DType type, int path)
    {
        if (!TierSupported(tier)) return; // the other test runs (DOTNET_EnableAVX512F=0 / AVX2=0) cover the rest
        var rng = new Random(1234 + tier * 10 + (int)type * 3 + path);
        (int n, int k)[] shapes = [(37, 83), (130, 257), (64, 16), (5, 1), (71, 300)];
        foreach ((int n, int k) in shapes)
        {
            TestWeight w = TestWeight.Random(rng, type, n, k);
            foreach (int m in new[] { 1, 2, 3, 7, 33, 100 })
            {
                float[] x = RandomActivations(rng, m * k);
                AssertMatchesReference(x, m, [w.Matrix], tier, path, $"tier {tier} {type} path {path} m={m} n={n} k={k}");
            }
            GC.KeepAlive(w);
        }
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4)]
    [InlineData(0, 5)]
    [InlineData(0, 64)]
    [InlineData(1, 9)]
    [InlineData(2, 2)]
    public void Forward_MultipleWeightsMixedDTypes_ConcatenatesBlocks(int path, int m)
    {
        var rng = new Random(77 + m);
        const int k = 203;
        TestWeight q = TestWeight.Random(rng, DType.BF16, 70, k);
        TestWeight kw = TestWeight.Random(rng, DType.F16, 9, k);
        TestWeight v = TestWeight.Random(rng, DType.F32, 130, k);
        float[] x = RandomActivations(rng, m * k);
        AssertMatchesReference(x, m, [q.Matrix, kw.Matrix, v.Matrix], 0, path, $"fused path {path} m={m}");
        GC.KeepAlive(q); GC.KeepAlive(kw); GC.KeepAlive(v);
    }

    [Fact]
    public void Forward_ManyRowsAndLongK_BlocksOverMAndKMatchReference()
    {
        // m beyond one MC block (240) and k beyond several KC blocks, on the auto-selected tier.
        var rng = new Random(5);
        TestWeight w = TestWeight.Random(rng, DType.BF16, 67, 611);
        float[] x = RandomActivations(rng, 253 * 611);
        AssertMatchesReference(x, 253, [w.Matrix], 0, 0, "m=253 k=611");
        GC.KeepAlive(w);
    }

    [Fact]
    public void Forward_SingleWeightOverload_EqualsSpanOverload()
    {
        var rng = new Random(9);
        TestWeight w = TestWeight.Random(rng, DType.F16, 33, 40);
        float[] x = RandomActivations(rng, 3 * 40);
        float[] a = new float[3 * 33], b = new float[3 * 33];
        MatMul.Forward(x, 3, w.Matrix, a);
        MatMul.Forward(x, 3, [w.Matrix], b);
        Assert.Equal(a, b);
        GC.KeepAlive(w);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(1, 3)]
    [InlineData(1, 4)]
    [InlineData(1, 9)]
    [InlineData(2, 7)]
    [InlineData(2, 13)]
    public void Forward_RowInDifferentBatches_BitwiseIdentical(int path, int m)
    {
        // Batch invariance within one path: a token's output must not depend on its batch size or position.
        var rng = new Random(31);
        const int k = 211, n = 75;
        TestWeight w = TestWeight.Random(rng, DType.BF16, n, k);
        float[] single = RandomActivations(rng, k);
        float[] batch = RandomActivations(rng, m * k);
        single.CopyTo(batch, (m - 1) * k); // the same row, last in the batch
        float[] ySingle = new float[n], yBatch = new float[m * n];
        int savedPath = MatMul.ForcedPath;
        MatMul.ForcedPath = path;
        try
        {
            MatMul.Forward(single, 1, w.Matrix, ySingle);
            MatMul.Forward(batch, m, w.Matrix, yBatch);
        }
        finally { MatMul.ForcedPath = savedPath; }
        Assert.Equal(ySingle, yBatch.AsSpan((m - 1) * n, n).ToArray());
        GC.KeepAlive(w);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public void Forward_SteadyState_AllocatesNothingOnCallingThread(int m)
    {
        var rng = new Random(21);
        TestWeight w = TestWeight.Random(rng, DType.BF16, 300, 96);
        float[] x = RandomActivations(rng, m * 96);
        float[] y = new float[m * 300];
        MatMul.Forward(x, m, w.Matrix, y); // first call may create this thread's scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) MatMul.Forward(x, m, w.Matrix, y);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        GC.KeepAlive(w);
    }

    [Fact]
    public void Forward_ZeroRows_LeavesOutputEmpty()
    {
        TestWeight w = TestWeight.Random(new Random(1), DType.F32, 4, 8);
        MatMul.Forward(ReadOnlySpan<float>.Empty, 0, w.Matrix, Span<float>.Empty);
        GC.KeepAlive(w);
    }

    [Fact]
    public void Forward_WrongLengths_ThrowArgumentException()
    {
        TestWeight w = TestWeight.Random(new Random(1), DType.F32, 4, 8);
        TestWeight other = TestWeight.Random(new Random(2), DType.F32, 4, 9);
        Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[15], 2, w.Matrix, new float[8]));
        Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[16], 2, w.Matrix, new float[7]));
        Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[16], 2, [w.Matrix, other.Matrix], new float[16]));
        Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[16], 2, ReadOnlySpan<WeightMatrix>.Empty, new float[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMul.Forward(new float[16], -1, w.Matrix, new float[8]));
        GC.KeepAlive(w); GC.KeepAlive(other);
    }

    [Fact]
    public void ReferenceForward_KnownSmallProduct_IsExact()
    {
        // Guards the reference itself: [1 2; 3 4] · [[1 0],[1 1],[2 -1]]ᵀ = [1 3 0; 3 7 2].
        TestWeight w = TestWeight.FromValues(DType.F32, 3, 2, [1, 0, 1, 1, 2, -1]);
        float[] y = new float[6];
        ReferenceMatMul.Forward([1, 2, 3, 4], 2, w.Matrix, y);
        Assert.Equal([1f, 3f, 0f, 3f, 7f, 2f], y);
        GC.KeepAlive(w);
    }

    private static void AssertMatchesReference(float[] x, int m, WeightMatrix[] weights, int tier, int path, string what)
    {
        long total = 0;
        foreach (WeightMatrix w in weights) total += w.Rows;
        float[] actual = new float[m * total];
        float[] expected = new float[m * total];
        actual.AsSpan().Fill(float.NaN); // every element must be written
        int savedTier = MatMul.ForcedTier, savedPath = MatMul.ForcedPath;
        MatMul.ForcedTier = tier;
        MatMul.ForcedPath = path;
        try { MatMul.Forward(x, m, weights, actual); }
        finally { MatMul.ForcedTier = savedTier; MatMul.ForcedPath = savedPath; }
        ReferenceMatMul.Forward(x, m, weights, expected);

        int k = weights[0].Cols;
        long offset = 0;
        foreach (WeightMatrix w in weights)
        {
            for (int i = 0; i < m; i++)
            {
                for (int r = 0; r < w.Rows; r++)
                {
                    double magnitude = 0;
                    for (int c = 0; c < k; c++)
                        magnitude += Math.Abs((double)x[i * k + c] * ReferenceConvert.ElementToSingle(w.Data, w.Type, (long)r * k + c));
                    long idx = offset + (long)i * w.Rows + r;
                    double error = Math.Abs((double)actual[idx] - expected[idx]);
                    Assert.True(error <= RelativeTolerance * magnitude + 1e-30,
                        $"{what}: y[{i},{r}] = {actual[idx]} but reference {expected[idx]} (|err| {error:E2}, Σ|xw| {magnitude:E2})");
                }
            }
            offset += (long)m * w.Rows;
        }
    }

    private static bool TierSupported(int tier) => tier switch
    {
        3 => Vector512.IsHardwareAccelerated,
        2 => Vector256.IsHardwareAccelerated,
        _ => true,
    };

    private static float[] RandomActivations(Random rng, int count)
    {
        // Hidden states after RMSNorm: O(1) values of both signs.
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        return x;
    }

    /// <summary>A weight matrix in pinned memory (the pinned heap never moves), with values rounded to its dtype.</summary>
    private sealed class TestWeight
    {
        private readonly byte[] _bytes;

        private TestWeight(byte[] bytes, WeightMatrix matrix)
        {
            _bytes = bytes;
            Matrix = matrix;
        }

        public WeightMatrix Matrix { get; }

        public static TestWeight Random(Random rng, DType type, int rows, int cols)
        {
            // Linear-layer weights: roughly ±0.1, some larger outliers.
            float[] values = new float[rows * cols];
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)((rng.NextDouble() * 2 - 1) * (rng.Next(16) == 0 ? 1.0 : 0.1));
            return FromValues(type, rows, cols, values);
        }

        public static TestWeight FromValues(DType type, int rows, int cols, float[] values)
        {
            byte[] bytes = GC.AllocateArray<byte>(Math.Max(1, values.Length * type.SizeInBytes()), pinned: true);
            nint data = (nint)Unsafe.AsPointer(ref bytes[0]);
            ReferenceConvert.FromSingle(values, type, data);
            return new TestWeight(bytes, new WeightMatrix(data, type, rows, cols));
        }
    }
}
