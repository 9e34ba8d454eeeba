using System.CommandLine;
using RepShift.Cluster.Orleans;

namespace RepShift.Cli;

/// <summary>The <c>--cluster</c> option of node, job embed and serve: localhost or PostgreSQL, checked when parsed.</summary>
internal static class ClusterOption
{
    public const string Forms = "'localhost' (nodes on this machine) or a PostgreSQL connection string "
        + "('Host=db;Username=repshift;Password=…;Database=repshift' or 'postgres://repshift:…@db:5432/repshift'; tools/postgres/setup.sh makes a local one): "
        + "the database holds the membership, so nodes on any machine that reaches it join";

    public static Option<string?> Create(string description, string? defaultValue = null)
    {
        var option = new Option<string?>("--cluster") { Description = $"{description}: {Forms}" };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.Validators.Add(v =>
        {
            if (v.Implicit || v.Tokens.Count == 0) return;
            try
            {
                ClusterAddress.Parse(v.Tokens[0].Value);
            }
            catch (RepShiftException e)
            {
                v.AddError(e.Message);
            }
        });
        return option;
    }

    /// <summary>The parsed value; null when the option was not given and has no default.</summary>
    public static ClusterAddress? Get(ParseResult r, Option<string?> option) => r.GetValue(option) is { } v ? ClusterAddress.Parse(v) : null;
}
