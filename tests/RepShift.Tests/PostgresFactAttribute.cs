using Npgsql;

namespace RepShift.Tests;

/// <summary>
/// A test that needs PostgreSQL: it runs against REPSHIFT_TEST_POSTGRES (a connection string), else the local server
/// tools/postgres/setup.sh makes, and is skipped, saying why, when neither answers. xunit 2 has no skip from inside a
/// test, so the check runs when tests are discovered (once per run).
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string DefaultConnection = "Host=localhost;Username=repshift;Password=repshift;Database=repshift";

    private static readonly Lazy<string?> Unreachable = new(Check);

    public PostgresFactAttribute()
    {
        if (Unreachable.Value is { } why) Skip = why;
    }

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("REPSHIFT_TEST_POSTGRES") is { Length: > 0 } given ? given : DefaultConnection;

    private static string? Check()
    {
        try
        {
            using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 3 }.ConnectionString);
            connection.Open();
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return $"PostgreSQL is not reachable ({e.Message}); run tools/postgres/setup.sh or set REPSHIFT_TEST_POSTGRES to a connection string";
        }
    }
}
