using System.Globalization;
using System.Runtime.InteropServices;

namespace VllmSharp.ParityDump;

/// <summary>
/// Compares two raw f32 logit dumps [n_tokens × vocab] position by position: top-1 agreement, max |Δlogit|, the
/// RMS error (after removing the per-row mean shift, which softmax ignores) relative to the spread of the reference
/// logits, and KL(reference ‖ ours) of the softmax distributions, all accumulated in double.
/// </summary>
public static class LogitsComparison
{
    public static int Run(string tokensPath, string referencePath, string oursPath, int vocab, ParityLimits limits, TextWriter output)
    {
        int[] tokens = Array.ConvertAll(File.ReadAllText(tokensPath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries),
            t => int.Parse(t, CultureInfo.InvariantCulture));
        int positions = tokens.Length;
        float[] reference = ReadFloats(referencePath), ours = ReadFloats(oursPath);
        if (reference.Length != ours.Length)
            throw new InvalidDataException($"{referencePath} holds {reference.Length} floats but {oursPath} holds {ours.Length}");
        if (vocab <= 0) vocab = positions == 0 ? 0 : reference.Length / positions;
        if (positions == 0 || vocab == 0 || (long)positions * vocab != reference.Length)
            throw new InvalidDataException($"{reference.Length} floats are not {positions} positions × vocab {vocab}");

        // echoes: positions where the reference's top-1 is the input token itself. Shallow random models with tied
        // embeddings do that everywhere, and then top-1 agreement says little; the table shows it.
        int agree = 0, ties = 0, echoes = 0;
        double maxAbs = 0, maxLogit = 0, maxRelRms = 0, klSum = 0, klMax = 0, minGap = double.MaxValue, worstMismatchGap = 0;
        for (int row = 0; row < positions; row++)
        {
            ReadOnlySpan<float> r = reference.AsSpan(row * vocab, vocab), o = ours.AsSpan(row * vocab, vocab);
            RowMetrics m = CompareRow(r, o);
            maxAbs = Math.Max(maxAbs, m.MaxAbs);
            maxLogit = Math.Max(maxLogit, m.MaxLogit);
            maxRelRms = Math.Max(maxRelRms, m.RelativeRms);
            klSum += m.Kl;
            klMax = Math.Max(klMax, m.Kl);
            minGap = Math.Min(minGap, m.Top2Gap);
            if (m.ReferenceTop1 == tokens[row]) echoes++;
            if (m.Top1Agrees) agree++;
            else
            {
                worstMismatchGap = Math.Max(worstMismatchGap, m.Top2Gap);
                if (m.Top2Gap < limits.TieGap) ties++;
            }
        }
        double klMean = klSum / positions;
        int hardMismatches = positions - agree - ties;
        bool pass = hardMismatches == 0 && klMean <= limits.MaxMeanKl && maxRelRms <= limits.MaxRelativeRms;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"metrics positions={positions} vocab={vocab} top1={agree} top1_is_input={echoes} near_ties={ties} " +
            $"mismatch_gap_max={(agree == positions ? 0 : worstMismatchGap):G3} " +
            $"min_top2_gap={minGap:G3} max_abs={maxAbs:G3} max_logit={maxLogit:G3} rel_rms_max={maxRelRms:G3} " +
            $"kl_mean={klMean:G3} kl_max={klMax:G3} verdict={(pass ? "PASS" : "FAIL")}"));
        return 0;
    }

    private readonly record struct RowMetrics(
        int ReferenceTop1, bool Top1Agrees, double Top2Gap, double MaxAbs, double MaxLogit, double RelativeRms, double Kl);

    private static RowMetrics CompareRow(ReadOnlySpan<float> r, ReadOnlySpan<float> o)
    {
        int n = r.Length, rTop = 0, oTop = 0;
        double meanR = 0, meanD = 0, maxAbs = 0, maxLogit = 0;
        for (int i = 0; i < n; i++)
        {
            if (!float.IsFinite(r[i]) || !float.IsFinite(o[i])) throw new InvalidDataException($"non-finite logit at index {i}");
            if (r[i] > r[rTop]) rTop = i;
            if (o[i] > o[oTop]) oTop = i;
            double d = (double)o[i] - r[i];
            meanR += r[i];
            meanD += d;
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
            maxLogit = Math.Max(maxLogit, Math.Abs(r[i]));
        }
        meanR /= n;
        meanD /= n;
        double second = double.MinValue, varR = 0, errSq = 0;
        for (int i = 0; i < n; i++)
        {
            if (i != rTop) second = Math.Max(second, r[i]);
            double cr = r[i] - meanR, ce = (double)o[i] - r[i] - meanD;
            varR += cr * cr;
            errSq += ce * ce;
        }
        double relativeRms = varR > 0 ? Math.Sqrt(errSq / varR) : Math.Sqrt(errSq / n);
        return new RowMetrics(rTop, rTop == oTop, r[rTop] - second, maxAbs, maxLogit, relativeRms, Kl(r, o));
    }

    /// <summary>KL(P ‖ Q) with P = softmax(p), Q = softmax(q), via log-sum-exp so no probability underflows matter.</summary>
    private static double Kl(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double lseP = LogSumExp(p), lseQ = LogSumExp(q), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double logP = p[i] - lseP, logQ = q[i] - lseQ;
            kl += Math.Exp(logP) * (logP - logQ);
        }
        return Math.Max(0, kl);
    }

    private static double LogSumExp(ReadOnlySpan<float> x)
    {
        double max = double.MinValue, sum = 0;
        foreach (float v in x) max = Math.Max(max, v);
        foreach (float v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length % sizeof(float) != 0) throw new InvalidDataException($"{path} is not a whole number of f32 values");
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }
}
