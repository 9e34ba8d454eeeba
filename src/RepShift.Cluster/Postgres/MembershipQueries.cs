namespace RepShift.Cluster.Postgres;

/// <summary>
/// Our PostgreSQL statements for Orleans' ADO.NET membership provider. The provider reads every statement it issues
/// from the table <c>OrleansQuery</c> (key → SQL text) and binds fixed parameter names (@DeploymentId, @Address,
/// @Port, @Generation, @Version, …); it reads result columns by name. The statements below are written for our
/// own two tables (plain SQL with data-modifying CTEs, no stored functions). The version row is the table's etag:
/// a write succeeds only when it still holds the version the writer read, and bumps it in the same statement.
/// </summary>
internal static class MembershipQueries
{
    /// <summary>Orleans' <c>SiloStatus.Dead</c>: rows only the cleanup deletes.</summary>
    private const int Dead = 6;

    // Columns as the provider reads them (by name): a missing member row still returns the version.
    private const string MemberColumns = """
        v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
        m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
        m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime", v.version AS "Version"
        """;

    private const string ThisMember = "m.deployment_id = @DeploymentId AND m.address = @Address AND m.port = @Port AND m.generation = @Generation";

    public static readonly IReadOnlyDictionary<string, string> ByKey = new Dictionary<string, string>
    {
        ["InsertMembershipVersionKey"] = """
            WITH added AS (INSERT INTO repshift_membership_version (deployment_id) VALUES (@DeploymentId) ON CONFLICT DO NOTHING RETURNING 1)
            SELECT count(*) > 0 FROM added
            """,
        // A new member: only when the version is still the one read and the row is not there yet.
        ["InsertMembershipKey"] = $"""
            WITH bumped AS (
                UPDATE repshift_membership_version SET version = version + 1, updated = now()
                WHERE deployment_id = @DeploymentId AND version = @Version
                  AND NOT EXISTS (SELECT 1 FROM repshift_membership m WHERE {ThisMember})
                RETURNING deployment_id),
            added AS (
                INSERT INTO repshift_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
                SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime FROM bumped
                ON CONFLICT DO NOTHING RETURNING 1)
            SELECT count(*) > 0 FROM added
            """,
        // A member's new status and suspicions, under the same version check.
        ["UpdateMembershipKey"] = $"""
            WITH bumped AS (
                UPDATE repshift_membership_version SET version = version + 1, updated = now()
                WHERE deployment_id = @DeploymentId AND version = @Version
                  AND EXISTS (SELECT 1 FROM repshift_membership m WHERE {ThisMember})
                RETURNING deployment_id),
            changed AS (
                UPDATE repshift_membership m
                SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = GREATEST(m.i_am_alive_time, @IAmAliveTime)
                FROM bumped WHERE {ThisMember}
                RETURNING 1)
            SELECT count(*) > 0 FROM changed
            """,
        // The heartbeat: no version check, never moves backwards.
        ["UpdateIAmAlivetimeKey"] = $"""
            UPDATE repshift_membership m SET i_am_alive_time = GREATEST(m.i_am_alive_time, @IAmAliveTime) WHERE {ThisMember}
            """,
        ["MembershipReadRowKey"] = $"""
            SELECT {MemberColumns}
            FROM repshift_membership_version v
            LEFT JOIN repshift_membership m ON m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
            WHERE v.deployment_id = @DeploymentId
            """,
        ["MembershipReadAllKey"] = $"""
            SELECT {MemberColumns}
            FROM repshift_membership_version v
            LEFT JOIN repshift_membership m ON m.deployment_id = v.deployment_id
            WHERE v.deployment_id = @DeploymentId
            """,
        ["DeleteMembershipTableEntriesKey"] = """
            DELETE FROM repshift_membership WHERE deployment_id = @DeploymentId;
            DELETE FROM repshift_membership_version WHERE deployment_id = @DeploymentId
            """,
        ["GatewaysQueryKey"] = """
            SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
            FROM repshift_membership
            WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
            """,
        ["CleanupDefunctSiloEntriesKey"] = $"""
            DELETE FROM repshift_membership
            WHERE deployment_id = @DeploymentId AND status = {Dead} AND i_am_alive_time < @IAmAliveTime AND start_time < @IAmAliveTime
              AND COALESCE(suspect_times, '') = ''
            """,
        // One dead row, only while it is still exactly as the caller saw it.
        ["CleanupDefunctSiloEntryKey"] = $"""
            DELETE FROM repshift_membership m
            WHERE {ThisMember} AND m.status = {Dead} AND m.i_am_alive_time = @IAmAliveTime AND m.start_time = @StartTime
              AND COALESCE(m.suspect_times, '') = COALESCE(@SuspectTimes, '')
            """,
    };
}
