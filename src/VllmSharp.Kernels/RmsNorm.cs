namespace VllmSharp.Kernels;

/// <summary>Root-mean-square layer norm (Llama/Qwen "RMSNorm") over rows of length <c>weight.Length</c>.</summary>
public static unsafe class RmsNorm
{
    // Below this many elements a parallel dispatch costs more than it saves (a decode row is ~1 µs).
    private const int ParallelThreshold = 32 * 1024;

    /// <summary>For each row r: y[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight. x and y may be the same span.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int rows = Validate(x.Length, weight.Length, y.Length, nameof(x));
        fixed (float* px = x, pw = weight, py = y)
        {
            var job = new Job { X = px, Residual = null, W = pw, Y = py, Dim = weight.Length, Eps = eps, Rows = rows };
            Run(ref job, rows, x.Length);
        }
    }

    /// <summary>residual += x (all rows), then y = Forward(residual). Fused so the residual is read once per row.</summary>
    public static void AddAndForward(Span<float> residual, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int rows = Validate(residual.Length, weight.Length, y.Length, nameof(residual));
        if (x.Length != residual.Length)
            throw new ArgumentException($"x has {x.Length} elements but residual has {residual.Length}.", nameof(x));
        fixed (float* pr = residual, px = x, pw = weight, py = y)
        {
            var job = new Job { X = px, Residual = pr, W = pw, Y = py, Dim = weight.Length, Eps = eps, Rows = rows };
            Run(ref job, rows, x.Length);
        }
    }

    private static int Validate(int xLength, int dim, int yLength, string xName)
    {
        if (dim <= 0) throw new ArgumentException("weight must not be empty.", "weight");
        if (xLength % dim != 0)
            throw new ArgumentException($"{xName} has {xLength} elements, not a multiple of the row length {dim}.", xName);
        if (yLength != xLength)
            throw new ArgumentException($"y has {yLength} elements but {xName} has {xLength}.", "y");
        return xLength / dim;
    }

    private static void Run(ref Job job, int rows, int elements)
    {
        if (rows > 1 && elements >= ParallelThreshold && WorkerPool.Shared.ThreadCount > 1)
        {
            // Chunks of rows keep per-item overhead small; a row's result does not depend on its chunk.
            int chunks = Math.Min(rows, WorkerPool.Shared.ThreadCount * 4);
            job.RowsPerChunk = (rows + chunks - 1) / chunks;
            WorkerPool.Shared.For((rows + job.RowsPerChunk - 1) / job.RowsPerChunk, ref job);
        }
        else
        {
            job.RowsPerChunk = rows;
            job.Execute(0);
        }
    }

    private struct Job : IParallelJob
    {
        public float* X, Residual, W, Y;
        public int Dim, Rows, RowsPerChunk;
        public float Eps;

        public readonly void Execute(int index)
        {
            int start = index * RowsPerChunk, end = Math.Min(Rows, start + RowsPerChunk);
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * Dim, y = Y + (long)r * Dim;
                float* src = x;
                if (Residual != null)
                {
                    src = Residual + (long)r * Dim;
                    ElementwiseSimd.Add(src, x, Dim);
                }
                float meanSquare = ElementwiseSimd.SumOfSquares(src, Dim) / Dim;
                float inv = 1f / MathF.Sqrt(meanSquare + Eps);
                ElementwiseSimd.ScaleMultiply(src, inv, W, y, Dim);
            }
        }
    }
}
