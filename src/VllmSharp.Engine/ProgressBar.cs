namespace VllmSharp.Engine;

/// <summary>A one-line text progress bar on standard error, like the tqdm bar vLLM's LLM shows over a batch.</summary>
internal sealed class ProgressBar : IDisposable
{
    private readonly string _label;
    private readonly int _total;
    private readonly DateTime _start = DateTime.UtcNow;
    private int _done;

    public ProgressBar(string label, int total)
    {
        _label = label;
        _total = total;
        Render();
    }

    public void Advance()
    {
        _done++;
        Render();
    }

    private void Render()
    {
        const int width = 30;
        int filled = _total == 0 ? width : _done * width / _total;
        double seconds = Math.Max((DateTime.UtcNow - _start).TotalSeconds, 1e-9);
        Console.Error.Write($"\r{_label}: {_done}/{_total} [{new string('#', filled)}{new string('.', width - filled)}] {_done / seconds:F2} it/s");
    }

    public void Dispose() => Console.Error.WriteLine();
}
