using System.Runtime.InteropServices;

/// <summary>
/// The calling thread's CPU time (Linux CLOCK_THREAD_CPUTIME_ID): time spent descheduled on a shared machine does
/// not count, so per-kernel cost can be measured while other work runs.
/// </summary>
internal static class ThreadCpuClock
{
    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds, Nanoseconds; }

    public static double Seconds()
    {
        _ = ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out TimeSpec ts);
        return ts.Seconds + ts.Nanoseconds * 1e-9;
    }
}
