using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RepShift.Cli.Serve;

/// <summary>An error answered in OpenAI's shape: {"error":{"message":..,"type":..,"param":..,"code":..}}.</summary>
internal sealed class ApiError(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiError BadRequest(string message, string? param = null) => new(StatusCodes.Status400BadRequest, message, param: param);

    public static ApiError TooLarge(string message, string? param = null) => new(StatusCodes.Status413PayloadTooLarge, message, param: param);

    /// <summary>503 with Retry-After: the request was fine, the server could not take it now.</summary>
    public static ApiError Unavailable(string message, string code) => new(StatusCodes.Status503ServiceUnavailable, message, "server_error", code: code);

    /// <summary>
    /// The error for a status the framework set without a body (404 from routing, 405, a Kestrel refusal of the
    /// body): OpenAI's wording where it has one, else the status's reason phrase.
    /// </summary>
    public static ApiError ForStatus(int status, HttpRequest request, string? allow = null) => status switch
    {
        StatusCodes.Status404NotFound => new(status, $"Invalid URL ({request.Method} {request.Path}): this server answers POST /v1/embeddings, GET /v1/models, GET /health, /health/live, /health/ready and /metrics", code: "not_found"),
        StatusCodes.Status405MethodNotAllowed => new(status, $"method {request.Method} is not allowed on {request.Path}: use {allow ?? "another method"}", code: "method_not_allowed"),
        StatusCodes.Status408RequestTimeout => new(status, "the request body did not arrive in time", code: "timeout"),
        StatusCodes.Status413PayloadTooLarge => new(status, "the request body is larger than this server's limit"),
        StatusCodes.Status431RequestHeaderFieldsTooLarge => new(status, "the request headers are larger than this server's limit"),
        >= 500 => new(status, $"the server failed on this request ({ReasonPhrase(status)})", "server_error"),
        _ => new(status, ReasonPhrase(status)),
    };

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } p ? p : $"status {status}";

    public async Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        response.ContentType = "application/json";
        if (Status == StatusCodes.Status503ServiceUnavailable) response.Headers.RetryAfter = "1";
        if (Status == StatusCodes.Status401Unauthorized) response.Headers.WWWAuthenticate = "Bearer";
        // Relaxed escaping: messages quote user input ('model'), and \u0027 would make them hard to read.
        await using var json = new Utf8JsonWriter(response.Body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteStartObject("error");
        // Messages quote the request; a lone surrogate in it would make the writer throw, so it becomes U+FFFD.
        json.WriteString("message", System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(Message)));
        json.WriteString("type", type);
        if (param is null) json.WriteNull("param");
        else json.WriteString("param", param);
        if (code is null) json.WriteNull("code");
        else json.WriteString("code", code);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
