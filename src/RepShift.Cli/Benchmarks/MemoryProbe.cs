using System.Diagnostics;
using System.Text.Json;

namespace RepShift.Cli.Benchmarks;

/// <summary>Peak resident memory of one engine: over the whole child process, and while it embedded.</summary>
internal sealed record EngineMemory(string Engine, long PeakBytes, long EmbedPeakBytes, long LoadedBytes);

/// <summary>
/// Measures each engine's peak memory in a child process of its own, so engines cannot inflate each
/// other's figures and the operating system's own count (VmHWM, the peak resident set) can be read.
/// The parent writes the pre-tokenized batches to a file; each child loads only its engine and those ids,
/// embeds every batch once, and prints one JSON line. The peak is also reset (clear_refs 5) after loading
/// and warm-up so the embedding phase can be told apart from model loading.
/// </summary>
internal static class MemoryProbe
{
    /// <summary>Runs one child per engine name ("repshift", "repshift-int8:balanced", "onnxruntime-int8", …); the int8 ONNX Runtime rows load <paramref name="onnxInt8File"/>.</summary>
    public static IReadOnlyList<EngineMemory> Run(IReadOnlyList<string> engines, IReadOnlyList<int[]> ids, int batch, int? batchTokens, int threads, int ortThreads, int maxTokens, string? model, string? onnxInt8File = null)
    {
        string idsFile = Path.Combine(Path.GetTempPath(), $"repshift-ids-{Environment.ProcessId}.bin");
        WriteIds(idsFile, ids);
        try
        {
            var results = new List<EngineMemory>();
            foreach (var engine in engines)
            {
                var args = new List<string> { "bench", "memory-probe", "--engine", engine, "--ids", idsFile, "--batch", $"{batch}", "--threads", $"{threads}", "--ort-threads", $"{ortThreads}", "--max-tokens", $"{maxTokens}" };
                if (model != null) args.AddRange(["--model", model]);
                if (batchTokens is int bt) args.AddRange(["--batch-tokens", $"{bt}"]);
                if (onnxInt8File != null && EngineSpec.Parse(engine).IsOnnxRuntimeInt8) args.AddRange(["--onnx-int8", onnxInt8File]);
                results.Add(RunChild(engine, args));
            }
            return results;
        }
        finally { File.Delete(idsFile); }
    }

    private static EngineMemory RunChild(string engine, List<string> args)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run the same program the same way: `dotnet RepShift.Cli.dll …` or the apphost / installed tool.
        string exe = Environment.ProcessPath ?? throw new RepShiftException("cannot find this program's path to start the memory probe");
        start.FileName = exe;
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") start.ArgumentList.Add(typeof(MemoryProbe).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var child = Process.Start(start) ?? throw new RepShiftException("could not start the memory probe");
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new RepShiftException($"memory probe for {engine} failed (exit {child.ExitCode}): {stderr.Result.Trim()}");
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? throw new RepShiftException($"memory probe for {engine} printed nothing");
        var report = JsonSerializer.Deserialize<ProbeReport>(line) ?? throw new RepShiftException($"memory probe for {engine} printed '{line}'");
        return new EngineMemory(engine, report.peak_bytes, report.embed_peak_bytes, report.loaded_bytes);
    }

    /// <summary>The child's side: embed every batch once with <paramref name="engine"/>, then report the peaks.</summary>
    public static void Probe(IEngine engine, IReadOnlyList<int[]> ids, int batch)
    {
        // Loading leaves the model file's bytes and, for int8, the fp32 arrays it quantized as garbage: collect and
        // return them to the system, so "after loading" is what the engine keeps, not what loading passed through.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long loaded = ResidentBytes();
        var batches = ids.Chunk(batch).Select(b => b.ToList()).ToList();
        engine.Embed(batches[0]); // warm-up, as in the throughput run
        long loadPeak = ReadStatus("VmHWM");
        bool reset = ResetPeak();
        engine.EmbedRound(batches);
        long embedPeak = ReadStatus("VmHWM");
        // Without the reset VmHWM already spans the whole run; with it, the whole-process peak is the larger of the two phases.
        Cli.WriteJson(new ProbeReport(reset ? Math.Max(loadPeak, embedPeak) : embedPeak, reset ? embedPeak : -1, loaded));
    }

    private sealed record ProbeReport(long peak_bytes, long embed_peak_bytes, long loaded_bytes);

    public static IReadOnlyList<int[]> ReadIds(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var ids = new int[reader.ReadInt32()][];
        for (int s = 0; s < ids.Length; s++)
        {
            ids[s] = new int[reader.ReadInt32()];
            for (int t = 0; t < ids[s].Length; t++) ids[s][t] = reader.ReadInt32();
        }
        return ids;
    }

    private static void WriteIds(string path, IReadOnlyList<int[]> ids)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(ids.Count);
        foreach (var seq in ids)
        {
            writer.Write(seq.Length);
            foreach (var id in seq) writer.Write(id);
        }
    }

    /// <summary>Writing 5 to clear_refs resets VmHWM to the current resident set (Linux ≥ 4.0); false where that is not possible.</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static long ResidentBytes() => ReadStatus("VmRSS");

    /// <summary>A "kB" field of /proc/self/status in bytes (Linux only: the benchmark says so elsewhere).</summary>
    private static long ReadStatus(string field)
    {
        if (!File.Exists("/proc/self/status")) throw new RepShiftException("peak memory is read from /proc/self/status, which only Linux has");
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]) * 1024;
        throw new RepShiftException($"/proc/self/status has no {field} line");
    }
}
