using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace RepShift.Cli.Serve;

/// <summary>
/// <c>--api-key</c>: requests must carry <c>Authorization: Bearer KEY</c>, as OpenAI's clients send it, or get 401
/// <c>invalid_api_key</c>. The comparison is of SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// so its time tells nothing of the key, not even its length. <c>/health/*</c> stays open (load balancers and
/// orchestrators probe without credentials), and so does <c>/metrics</c> unless <see cref="ServeOptions.MetricsAuth"/>.
/// </summary>
internal sealed class ApiKey
{
    /// <summary>The environment variable read when --api-key is not given.</summary>
    public const string EnvironmentVariable = "REPSHIFT_API_KEY";

    private readonly byte[] _digest;

    public ApiKey(string key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Any(char.IsWhiteSpace) || key.Any(char.IsControl))
            throw new RepShiftException("the API key is empty or holds whitespace or control characters: give a key a client can send as 'Authorization: Bearer KEY'");
        _digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Whether <paramref name="path"/> needs the key.</summary>
    public static bool Guards(PathString path, bool metricsAuth) =>
        !(path.StartsWithSegments("/health") || (!metricsAuth && path.StartsWithSegments("/metrics")));

    /// <summary>Null when the request carries the key, else the 401 to answer.</summary>
    public ApiError? Check(HttpRequest request)
    {
        string? header = request.Headers.Authorization.Count == 1 ? request.Headers.Authorization[0] : null;
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return Unauthorized("You didn't provide an API key: send it as 'Authorization: Bearer KEY'");
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _digest) ? null : Unauthorized("Incorrect API key provided");
    }

    private static ApiError Unauthorized(string message) => new(StatusCodes.Status401Unauthorized, message, code: "invalid_api_key");
}
