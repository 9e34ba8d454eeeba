using Npgsql;

namespace RepShift.Cluster.Postgres;

/// <summary>
/// Creates what RepShift keeps in PostgreSQL when it is missing: Orleans' query table with our membership statements
/// (<see cref="MembershipQueries"/>), the membership tables, and the job tables (<see cref="PostgresJobStore"/>).
/// Every node, coordinator and front end runs it before it starts, inside a transaction holding an advisory lock, so
/// processes starting together do not race on CREATE; running it again changes nothing (the statements are
/// rewritten to the same text, so a newer RepShift updates them).
/// </summary>
public static class PostgresSchema
{
    // pg_advisory_xact_lock key: "RepShift" in ASCII, so it does not collide with other applications' locks by chance.
    private const long LockKey = 0x5265705368696674;

    private const string Tables = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey varchar(64) PRIMARY KEY,
            QueryText varchar(8000) NOT NULL);
        CREATE TABLE IF NOT EXISTS repshift_membership_version (
            deployment_id varchar(150) PRIMARY KEY,
            version integer NOT NULL DEFAULT 0,
            updated timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS repshift_membership (
            deployment_id varchar(150) NOT NULL REFERENCES repshift_membership_version (deployment_id),
            address varchar(45) NOT NULL,
            port integer NOT NULL,
            generation integer NOT NULL,
            silo_name varchar(150) NOT NULL,
            host_name varchar(150) NOT NULL,
            status integer NOT NULL,
            proxy_port integer NOT NULL DEFAULT 0,
            suspect_times varchar(8000),
            start_time timestamptz NOT NULL,
            i_am_alive_time timestamptz NOT NULL,
            PRIMARY KEY (deployment_id, address, port, generation));
        CREATE TABLE IF NOT EXISTS repshift_jobs (
            job_id text PRIMARY KEY,
            manifest text NOT NULL,
            lease_owner text,
            lease_expires timestamptz,
            created timestamptz NOT NULL DEFAULT now(),
            finished timestamptz);
        CREATE TABLE IF NOT EXISTS repshift_job_shards (
            job_id text NOT NULL REFERENCES repshift_jobs (job_id) ON DELETE CASCADE,
            shard integer NOT NULL,
            done boolean NOT NULL DEFAULT false,
            texts bigint NOT NULL DEFAULT 0,
            node text,
            finished timestamptz,
            PRIMARY KEY (job_id, shard));
        """;

    /// <summary>Applies the schema when missing (idempotent, safe to run from several processes at once).</summary>
    public static async Task EnsureAsync(string connectionString, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(connectionString, cancellation);
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey})", connection, transaction))
            await lockCommand.ExecuteNonQueryAsync(cancellation);
        await using (var create = new NpgsqlCommand(Tables, connection, transaction))
            await create.ExecuteNonQueryAsync(cancellation);
        foreach (var (key, text) in MembershipQueries.ByKey)
        {
            await using var upsert = new NpgsqlCommand(
                "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ($1, $2) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText WHERE OrleansQuery.QueryText <> EXCLUDED.QueryText",
                connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter { Value = key });
            upsert.Parameters.Add(new NpgsqlParameter { Value = text });
            await upsert.ExecuteNonQueryAsync(cancellation);
        }
        await transaction.CommitAsync(cancellation);
    }

    /// <summary>An open connection, or a RepShiftException that says which database could not be reached and why.</summary>
    internal static async Task<NpgsqlConnection> OpenAsync(string connectionString, CancellationToken cancellation = default)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellation);
            return connection;
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await connection.DisposeAsync();
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            throw new RepShiftException($"cannot reach PostgreSQL at {b.Host}:{b.Port}, database {b.Database}, user {b.Username} ({e.Message}); "
                + "is it running (tools/postgres/setup.sh starts a local one)?");
        }
    }
}
