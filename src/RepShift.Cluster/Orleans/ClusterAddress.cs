using Npgsql;

namespace RepShift.Cluster.Orleans;

/// <summary>
/// What <c>--cluster</c> names: <c>localhost</c> (nodes on this machine, joining through the first one's port) or a
/// PostgreSQL database that holds the membership table (nodes on any machine that reaches it), given as an Npgsql
/// connection string (<c>Host=…;Username=…</c>) or a <c>postgres://user:password@host:port/database</c> URI.
/// </summary>
public sealed class ClusterAddress
{
    public const string Localhost = "localhost";

    /// <summary>The Orleans cluster and service id every node and client of a database uses (one cluster per database).</summary>
    public const string DefaultClusterId = "repshift";

    private ClusterAddress(string? connectionString) => ConnectionString = connectionString;

    /// <summary>The Npgsql connection string; null for localhost clustering.</summary>
    public string? ConnectionString { get; }

    public bool IsPostgres => ConnectionString != null;

    /// <summary>Where the cluster is, for messages: "localhost" or host/database (never the password).</summary>
    public string Display
    {
        get
        {
            if (ConnectionString is null) return Localhost;
            var b = new NpgsqlConnectionStringBuilder(ConnectionString);
            return $"PostgreSQL {b.Host}:{b.Port}/{b.Database}";
        }
    }

    public static ClusterAddress LocalhostCluster { get; } = new(null);

    /// <summary>Parses an option value; a clear error for anything that is neither form.</summary>
    public static ClusterAddress Parse(string value, string option = "--cluster")
    {
        string v = value.Trim();
        if (v.Equals(Localhost, StringComparison.OrdinalIgnoreCase)) return LocalhostCluster;
        if (v.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || v.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return new ClusterAddress(FromUri(v, option));
        if (v.StartsWith("Host=", StringComparison.OrdinalIgnoreCase) || v.Contains(";Host=", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var b = new NpgsqlConnectionStringBuilder(v);
                if (string.IsNullOrWhiteSpace(b.Host)) throw new RepShiftException($"{option}: the connection string names no Host");
                return new ClusterAddress(b.ConnectionString);
            }
            catch (ArgumentException e)
            {
                throw new RepShiftException($"{option}: not a valid PostgreSQL connection string ({e.Message})");
            }
        }
        throw new RepShiftException($"{option} '{Redact(v)}': use 'localhost' (nodes on this machine) or a PostgreSQL connection string, "
            + "e.g. 'Host=db;Username=repshift;Password=…;Database=repshift' or 'postgres://repshift:…@db:5432/repshift'");
    }

    /// <summary>postgres://user:password@host:port/database?key=value → Npgsql's key=value form.</summary>
    private static string FromUri(string value, string option)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new RepShiftException($"{option}: '{Redact(value)}' is not a valid postgres:// URI (postgres://user:password@host:port/database)");
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (!uri.IsDefaultPort && uri.Port > 0) b.Port = uri.Port;
        string[] user = uri.UserInfo.Split(':', 2);
        if (user[0].Length > 0) b.Username = Uri.UnescapeDataString(user[0]);
        if (user.Length > 1) b.Password = Uri.UnescapeDataString(user[1]);
        string database = uri.AbsolutePath.Trim('/');
        if (database.Length > 0) b.Database = Uri.UnescapeDataString(database);
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            try { b[Uri.UnescapeDataString(kv[0])] = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : ""; }
            catch (ArgumentException e) { throw new RepShiftException($"{option}: URI parameter '{kv[0]}' ({e.Message})"); }
        }
        return b.ConnectionString;
    }

    /// <summary>An option value with any password hidden, for error messages.</summary>
    private static string Redact(string value) =>
        System.Text.RegularExpressions.Regex.Replace(value, @"(?i)(password=)[^;]*|(://[^:/@]*:)[^@]*(@)", m => m.Groups[1].Success ? m.Groups[1].Value + "***" : m.Groups[2].Value + "***" + m.Groups[3].Value);
}
