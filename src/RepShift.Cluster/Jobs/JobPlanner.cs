using RepShift.Cluster.Inputs;

namespace RepShift.Cluster.Jobs;

/// <summary>Splits a job's inputs into shards of at most <c>shardSize</c> records, in input order.</summary>
public static class JobPlanner
{
    /// <summary>The names of shard files: <c>shard-NNNNNN.parquet</c>.</summary>
    public const string ShardFiles = "shard-*.parquet";

    /// <summary>Expands a path with '*' or '?' in its last part (a glob the shell did not expand) into the matching files, sorted.</summary>
    public static List<string> Expand(IEnumerable<string> paths)
    {
        var result = new List<string>();
        foreach (string path in paths)
        {
            string name = Path.GetFileName(path);
            if (name.IndexOfAny(['*', '?']) < 0)
            {
                result.Add(path);
                continue;
            }
            string folder = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
            if (!Directory.Exists(folder)) throw new RepShiftException($"{path}: folder {folder} not found");
            var matches = Directory.GetFileSystemEntries(folder, name).Order(StringComparer.Ordinal).ToList();
            if (matches.Count == 0) throw new RepShiftException($"{path}: matches no file");
            result.AddRange(matches);
        }
        return result;
    }

    public static JobManifest Plan(IReadOnlyList<string> paths, long shardSize, string textColumn, EngineSignature engine)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardSize, 1);
        var inputs = new List<JobInput>();
        var shards = new List<Shard>();
        for (int i = 0; i < paths.Count; i++)
        {
            var source = InputSource.Open(paths[i], textColumn);
            if (paths[i] == "-") throw new RepShiftException("a bulk job cannot read standard input: it reads its inputs again to resume; give files");
            long records;
            List<long>? offsets = null;
            if (source.Format is InputFormat.Lines or InputFormat.JsonLines) (records, offsets) = source.LineIndex(shardSize);
            else records = source.CountRecords();
            long bytes = source.Format == InputFormat.Folder
                ? source.FolderFiles.Sum(f => new FileInfo(Path.Combine(paths[i], f)).Length)
                : new FileInfo(paths[i]).Length;
            inputs.Add(new JobInput(Path.GetFullPath(paths[i]), source.Format, records, bytes));
            for (long start = 0, k = 0; start < records; start += shardSize, k++)
                shards.Add(new Shard
                {
                    Id = shards.Count,
                    Input = i,
                    Start = start,
                    Count = Math.Min(shardSize, records - start),
                    Offset = offsets?[(int)k] ?? 0,
                    File = $"shard-{shards.Count:D6}.parquet",
                });
        }
        if (shards.Count == 0) throw new RepShiftException($"nothing to embed: {string.Join(", ", paths)} hold no texts");
        return new JobManifest { Engine = engine, ShardSize = shardSize, TextColumn = textColumn, Inputs = inputs, Shards = shards };
    }
}
