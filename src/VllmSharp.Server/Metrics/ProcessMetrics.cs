using System.Diagnostics;

namespace VllmSharp.Server.Metrics;

/// <summary>
/// The process's own series next to vLLM's, as Prometheus clients export them by default (vLLM's Python client shows
/// <c>process_*</c> and <c>python_gc_*</c>): CPU time, resident memory, and the .NET garbage collector's work under the
/// names prometheus-net uses — so a benchmark can read GC counts per generated token from two scrapes.
/// </summary>
public static class ProcessMetrics
{
    public static void Register(PrometheusRegistry registry)
    {
        MetricChild cpu = registry.Add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", []).WithLabels();
        MetricChild rss = registry.Add("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", []).WithLabels();
        MetricFamily collections = registry.Add("dotnet_collection_count_total", "GC collections since process start, by generation (2 = full).", "counter", ["generation"]);
        MetricChild[] perGeneration = [.. Enumerable.Range(0, GC.MaxGeneration + 1).Select(g => collections.WithLabels(g.ToString()))];
        MetricChild pause = registry.Add("dotnet_gc_pause_seconds_total", "Total time the GC paused the process's threads.", "counter", []).WithLabels();
        MetricChild allocated = registry.Add("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since process start.", "counter", []).WithLabels();
        MetricChild heap = registry.Add("dotnet_total_memory_bytes", "Bytes currently thought to be allocated on the managed heap.", "gauge", []).WithLabels();

        registry.AddBeforeCollectCallback(() =>
        {
            using Process self = Process.GetCurrentProcess();
            cpu.Set(self.TotalProcessorTime.TotalSeconds);
            rss.Set(self.WorkingSet64);
            for (int g = 0; g < perGeneration.Length; g++) perGeneration[g].Set(GC.CollectionCount(g));
            pause.Set(GC.GetTotalPauseDuration().TotalSeconds);
            allocated.Set(GC.GetTotalAllocatedBytes());
            heap.Set(GC.GetTotalMemory(forceFullCollection: false));
        });
    }
}
