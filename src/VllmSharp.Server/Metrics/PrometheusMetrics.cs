using System.Globalization;
using System.Text;

namespace VllmSharp.Server.Metrics;

/// <summary>
/// A minimal Prometheus text-format registry. Written here because prometheus-net refuses metric names with a
/// colon, and vLLM's names (<c>vllm:num_requests_running</c>, …) have one — clients' dashboards expect them as is.
/// Counters, gauges and histograms keyed by label values; all thread-safe.
/// </summary>
public sealed class PrometheusRegistry
{
    private readonly List<MetricFamily> _families = [];
    private readonly List<Action> _beforeCollect = [];

    public MetricFamily Add(string name, string help, string type, string[] labelNames, double[]? buckets = null)
    {
        var family = new MetricFamily(name, help, type, labelNames, buckets);
        lock (_families) _families.Add(family);
        return family;
    }

    public void AddBeforeCollectCallback(Action callback) => _beforeCollect.Add(callback);

    /// <summary>The exposition text (format 0.0.4).</summary>
    public string Collect()
    {
        foreach (Action callback in _beforeCollect) callback();
        var text = new StringBuilder();
        lock (_families)
            foreach (MetricFamily family in _families) family.Write(text);
        return text.ToString();
    }
}

/// <summary>One metric name with its children per label-value set.</summary>
public sealed class MetricFamily(string name, string help, string type, string[] labelNames, double[]? buckets)
{
    private readonly Dictionary<string, MetricChild> _children = [];

    public MetricChild WithLabels(params string[] values)
    {
        string key = string.Join('\u0001', values);
        lock (_children)
        {
            if (!_children.TryGetValue(key, out MetricChild? child))
                _children[key] = child = new MetricChild(Labels(values), buckets);
            return child;
        }
    }

    private string Labels(string[] values)
        => string.Join(",", labelNames.Select((l, i) => $"{l}=\"{values[i].Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\""));

    internal void Write(StringBuilder text)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        lock (_children)
            foreach (MetricChild child in _children.Values) child.Write(text, name, type);
    }
}

/// <summary>One time series (or one histogram): a value, or bucket counts with sum and count.</summary>
public sealed class MetricChild
{
    private readonly string _labels;
    private readonly double[]? _bounds;
    private readonly long[]? _bucketCounts;
    private double _value, _sum;
    private long _count;
    private readonly object _gate = new();

    internal MetricChild(string labels, double[]? bounds)
    {
        _labels = labels;
        _bounds = bounds;
        _bucketCounts = bounds is null ? null : new long[bounds.Length];
    }

    public void Inc(double amount = 1) { lock (_gate) _value += amount; }
    public void Set(double value) { lock (_gate) _value = value; }
    /// <summary>Raises a counter to <paramref name="value"/> if that is higher (for totals read from elsewhere).</summary>
    public void IncTo(double value) { lock (_gate) _value = Math.Max(_value, value); }

    public void Observe(double value)
    {
        lock (_gate)
        {
            for (int i = 0; i < _bounds!.Length; i++)
                if (value <= _bounds[i]) _bucketCounts![i]++;
            _sum += value;
            _count++;
        }
    }

    internal void Write(StringBuilder text, string name, string type)
    {
        lock (_gate)
        {
            if (type != "histogram")
            {
                Line(text, name, _labels, _value);
                return;
            }
            for (int i = 0; i < _bounds!.Length; i++)
                Line(text, name + "_bucket", Join(_labels, $"le=\"{Format(_bounds[i])}\""), _bucketCounts![i]);
            Line(text, name + "_bucket", Join(_labels, "le=\"+Inf\""), _count);
            Line(text, name + "_sum", _labels, _sum);
            Line(text, name + "_count", _labels, _count);
        }
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : a + "," + b;

    private static void Line(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
        text.Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
