namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// Seeded Gamma(shape, scale) samples, the distribution vLLM draws request inter-arrival gaps from
/// (shape 1 is the exponential, i.e. a Poisson process). Marsaglia–Tsang squeeze method for shape ≥ 1; for shape &lt; 1
/// the usual boost Gamma(shape) = Gamma(shape + 1)·U^(1/shape).
/// </summary>
public sealed class GammaSampler(Random random)
{
    private double? _spareNormal;

    public double Next(double shape, double scale)
    {
        if (!(shape > 0) || !(scale > 0)) throw new ArgumentOutOfRangeException(nameof(shape), "shape and scale must be positive.");
        if (shape < 1)
        {
            double u = 1.0 - random.NextDouble(); // (0, 1]: avoids 0^(1/shape) = 0 exactly
            return Next(shape + 1, scale) * Math.Pow(u, 1.0 / shape);
        }
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextNormal();
                v = 1.0 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            double u = random.NextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
            if (u > 0 && Math.Log(u) < 0.5 * x * x + d * (1.0 - v + Math.Log(v))) return d * v * scale;
        }
    }

    /// <summary>Standard normal by Box–Muller (pairs; the second value is kept for the next call).</summary>
    private double NextNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }
}
