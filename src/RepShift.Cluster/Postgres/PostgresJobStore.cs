using Npgsql;
using RepShift.Cluster.Jobs;
using RepShift.Cluster.Orleans;
using RepShift.Cluster.Outputs;

namespace RepShift.Cluster.Postgres;

/// <summary>
/// The manifest of a clustered job in PostgreSQL: one <c>repshift_jobs</c> row per job id (the planned manifest as
/// JSON, the lease owner and expiry) and one <c>repshift_job_shards</c> row per shard (done, texts, which node).
/// A coordinator must hold the job's lease to run it and renews it while it runs; a second coordinator is refused
/// until the lease expires (its holder died) or is released. A shard is recorded as done only by the lease holder,
/// so a coordinator that lost its lease cannot record anything, and a resumed job skips the shards recorded done.
/// </summary>
public sealed class PostgresJobStore : IShardLedger, IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly TimeSpan _leaseTime;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;
    private volatile string? _lost;

    private PostgresJobStore(string connectionString, string jobId, string owner, TimeSpan leaseTime, JobManifest job)
    {
        _connectionString = connectionString;
        JobId = jobId;
        Owner = owner;
        _leaseTime = leaseTime;
        Job = job;
        _renewing = RenewAsync();
    }

    public string JobId { get; }

    /// <summary>Who holds the lease: host, process and a random part, so a restarted process is another owner.</summary>
    public string Owner { get; }

    /// <summary>The job with the shards recorded done marked so.</summary>
    public JobManifest Job { get; }

    /// <summary>
    /// Creates the job when it is new, or loads it when <paramref name="planned"/> matches what is stored (an error
    /// naming the difference otherwise), and takes its lease: an error when another coordinator holds it.
    /// </summary>
    /// <param name="connectionString">The database.</param>
    /// <param name="jobId">The job's key (the CLI uses the output folder's full path).</param>
    /// <param name="planned">The job as planned now; its shards are marked done as recorded.</param>
    /// <param name="folder">The output folder: a shard recorded done whose file is gone there is done again.</param>
    /// <param name="leaseTime">How long the lease lasts unless renewed (default 60 s; renewed every third of it).</param>
    /// <param name="owner">This coordinator's name (default: host, process id and a random part).</param>
    /// <param name="cancellation">Stops the claim.</param>
    public static async Task<PostgresJobStore> ClaimAsync(string connectionString, string jobId, JobManifest planned, string folder,
        TimeSpan? leaseTime = null, string? owner = null, CancellationToken cancellation = default)
    {
        var lease = leaseTime ?? TimeSpan.FromSeconds(60);
        owner ??= $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
        await using var connection = await PostgresSchema.OpenAsync(connectionString, cancellation);
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        await using (var insert = Command(connection, transaction, "INSERT INTO repshift_jobs (job_id, manifest) VALUES ($1, $2) ON CONFLICT DO NOTHING", jobId, planned.ToJson()))
        {
            if (await insert.ExecuteNonQueryAsync(cancellation) == 1)
            {
                await using var shards = Command(connection, transaction,
                    "INSERT INTO repshift_job_shards (job_id, shard) SELECT $1, s FROM generate_series(0, $2 - 1) AS s", jobId, planned.Shards.Count);
                await shards.ExecuteNonQueryAsync(cancellation);
            }
        }
        string stored;
        await using (var read = Command(connection, transaction, "SELECT manifest FROM repshift_jobs WHERE job_id = $1 FOR UPDATE", jobId))
            stored = (string)(await read.ExecuteScalarAsync(cancellation))!;
        if (JobManifest.FromJson(stored).Mismatch(planned) is { } why)
            throw new RepShiftException($"job '{jobId}' in PostgreSQL is another job: {why}; use another --output (the job id) or delete the job's rows");
        await using (var take = Command(connection, transaction,
            "UPDATE repshift_jobs SET lease_owner = $2, lease_expires = now() + $3 WHERE job_id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires < now()) RETURNING 1",
            jobId, owner, lease))
        {
            if (await take.ExecuteScalarAsync(cancellation) is null)
            {
                await using var holder = Command(connection, transaction, "SELECT lease_owner, lease_expires FROM repshift_jobs WHERE job_id = $1", jobId);
                await using var reader = await holder.ExecuteReaderAsync(cancellation);
                await reader.ReadAsync(cancellation);
                throw new RepShiftException($"job '{jobId}' is being run by another coordinator ({reader.GetString(0)}, lease until {reader.GetDateTime(1):u}); "
                    + "wait for it, or for its lease to expire if it died");
            }
        }
        await using (var done = Command(connection, transaction, "SELECT shard, texts FROM repshift_job_shards WHERE job_id = $1 AND done", jobId))
        await using (var reader = await done.ExecuteReaderAsync(cancellation))
        {
            while (await reader.ReadAsync(cancellation))
            {
                var shard = planned.Shards[reader.GetInt32(0)];
                // Recorded done but its file is gone (deleted, or another folder): embedded again.
                shard.Done = File.Exists(Path.Combine(folder, shard.File));
                shard.Texts = reader.GetInt64(1);
            }
        }
        await transaction.CommitAsync(cancellation);
        Directory.CreateDirectory(folder);
        // Temporary files of shards a killed run was writing, as a local job clears them: this coordinator now holds the
        // job's lease, and a node still finishing a dead coordinator's shard loses only a write that is leased again.
        EmbeddingWriter.DeleteTemporaries(folder, JobPlanner.ShardFiles);
        return new PostgresJobStore(connectionString, jobId, owner, lease, planned);
    }

    /// <summary>Records a finished shard, only while this coordinator still holds the lease (else an error).</summary>
    public async Task RecordAsync(Shard shard, string node, CancellationToken cancellation = default)
    {
        ThrowIfLost();
        await using var connection = await PostgresSchema.OpenAsync(_connectionString, cancellation);
        await using var record = Command(connection, null, """
            UPDATE repshift_job_shards s SET done = true, texts = $3, node = $4, finished = now()
            FROM repshift_jobs j
            WHERE s.job_id = $1 AND s.shard = $2 AND j.job_id = s.job_id AND j.lease_owner = $5 AND j.lease_expires > now()
            RETURNING 1
            """, JobId, shard.Id, shard.Texts, node, Owner);
        if (await record.ExecuteScalarAsync(cancellation) is null)
        {
            _lost = $"lost the lease of job '{JobId}' (it expired or another coordinator took it); shard {shard.Id} was not recorded";
            ThrowIfLost();
        }
    }

    /// <summary>Counts of shards recorded done in the table, for checks and summaries.</summary>
    public static async Task<(int Done, int Total)> CountAsync(string connectionString, string jobId, CancellationToken cancellation = default)
    {
        await using var connection = await PostgresSchema.OpenAsync(connectionString, cancellation);
        await using var count = Command(connection, null, "SELECT count(*) FILTER (WHERE done), count(*) FROM repshift_job_shards WHERE job_id = $1", jobId);
        await using var reader = await count.ExecuteReaderAsync(cancellation);
        await reader.ReadAsync(cancellation);
        return ((int)reader.GetInt64(0), (int)reader.GetInt64(1));
    }

    /// <summary>Releases the lease (marking the job finished when every shard is done).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        _stop.Dispose();
        try
        {
            await using var connection = await PostgresSchema.OpenAsync(_connectionString);
            await using var release = Command(connection, null, """
                UPDATE repshift_jobs SET lease_owner = NULL, lease_expires = NULL,
                    finished = CASE WHEN NOT EXISTS (SELECT 1 FROM repshift_job_shards WHERE job_id = $1 AND NOT done) THEN now() END
                WHERE job_id = $1 AND lease_owner = $2
                """, JobId, Owner);
            await release.ExecuteNonQueryAsync();
        }
        catch (RepShiftException)
        {
            // The database is gone: the lease simply expires.
        }
    }

    private void ThrowIfLost()
    {
        if (_lost is { } why) throw new RepShiftException(why);
    }

    /// <summary>Extends the lease every third of its time; a failed renewal is retried, a refused one ends the job's recording.</summary>
    private async Task RenewAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_leaseTime / 3, _stop.Token);
                await using var connection = await PostgresSchema.OpenAsync(_connectionString, _stop.Token);
                await using var renew = Command(connection, null,
                    "UPDATE repshift_jobs SET lease_expires = now() + $3 WHERE job_id = $1 AND lease_owner = $2 RETURNING 1", JobId, Owner, _leaseTime);
                if (await renew.ExecuteScalarAsync(_stop.Token) is null)
                    _lost = $"lost the lease of job '{JobId}': another coordinator took it";
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RepShiftException or NpgsqlException)
            {
                // PostgreSQL unreachable for a moment: try again next period; recording fails if the lease ran out.
            }
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var v in values) command.Parameters.Add(new NpgsqlParameter { Value = v });
        return command;
    }
}
