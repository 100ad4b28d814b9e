using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>
/// Plain double-precision statement of the sampling distribution (full sorts, no thresholds) and the statistics the
/// tests compare the sampler against.
/// </summary>
internal static class SamplingReference
{
    /// <summary>
    /// Final probabilities after temperature, min_p, top_k, top_p. Ties rank the lower token id first, for top_k and
    /// top_p alike.
    /// </summary>
    public static double[] Probabilities(ReadOnlySpan<float> logits, double temperature, double minP = 0, int topK = -1, double topP = 1)
    {
        int v = logits.Length;
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        var p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) sum += p[i] = Math.Exp((logits[i] - max) / temperature);
        for (int i = 0; i < v; i++) p[i] /= sum;

        double pMax = p.Max();
        for (int i = 0; i < v; i++) if (p[i] < minP * pMax) p[i] = 0;

        int[] order = Enumerable.Range(0, v).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
        if (topK > 0)
            for (int r = topK; r < v; r++) p[order[r]] = 0;
        Normalise(p);

        if (topP < 1)
        {
            double cum = 0;
            int r = 0;
            for (; r < v && cum < topP; r++) cum += p[order[r]];
            for (; r < v; r++) p[order[r]] = 0;
        }
        Normalise(p);
        return p;
    }

    /// <summary>log-softmax of the row at <paramref name="token"/>, in double.</summary>
    public static double LogSoftmax(ReadOnlySpan<float> logits, int token)
    {
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in logits) sum += Math.Exp(x - max);
        return logits[token] - max - Math.Log(sum);
    }

    /// <summary>Samples <paramref name="draws"/> tokens from the same logits (fresh copy each time) and counts them.</summary>
    public static int[] Counts(SamplingParams p, float[] logits, int draws, long seed = 1)
    {
        var sampler = new Sampler(logits.Length);
        var state = new SamplingState(p, [], [], seed);
        var counts = new int[logits.Length];
        var row = new float[logits.Length];
        var token = new int[1];
        var logprob = new float[1];
        for (int d = 0; d < draws; d++)
        {
            logits.CopyTo(row, 0);
            sampler.Sample(row, [state], token, logprob);
            counts[token[0]]++;
        }
        return counts;
    }

    /// <summary>
    /// Pearson chi-square of the counts against the probabilities, pooling cells expected below 5 into one, and
    /// whether it is under the 1e-4 upper quantile. Every count in a zero-probability cell fails outright.
    /// </summary>
    public static (double Statistic, double Critical, bool Passes) ChiSquare(int[] counts, double[] probabilities)
    {
        long n = counts.Sum(c => (long)c);
        double stat = 0, pooledExpected = 0;
        long pooledObserved = 0;
        int cells = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (probabilities[i] == 0)
            {
                if (counts[i] != 0) return (double.PositiveInfinity, 0, false);
                continue;
            }
            double e = probabilities[i] * n;
            if (e < 5)
            {
                pooledExpected += e;
                pooledObserved += counts[i];
                continue;
            }
            stat += (counts[i] - e) * (counts[i] - e) / e;
            cells++;
        }
        if (pooledExpected > 0)
        {
            stat += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected;
            cells++;
        }
        int df = Math.Max(1, cells - 1);
        // Wilson–Hilferty approximation of the chi-square quantile; z = 3.719 is the normal 1 − 1e-4 quantile.
        double a = 2.0 / (9 * df);
        double critical = df * Math.Pow(1 - a + 3.719 * Math.Sqrt(a), 3);
        return (stat, critical, stat < critical);
    }

    /// <summary>Seeded standard-normal logits scaled by <paramref name="scale"/> (Box–Muller on System.Random, test data only).</summary>
    public static float[] RandomLogits(int vocab, double scale, int seed)
    {
        var rng = new Random(seed);
        var x = new float[vocab];
        for (int i = 0; i < vocab; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return x;
    }

    private static void Normalise(double[] p)
    {
        double s = p.Sum();
        for (int i = 0; i < p.Length; i++) p[i] /= s;
    }
}
