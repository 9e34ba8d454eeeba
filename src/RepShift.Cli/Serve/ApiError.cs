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

    public async Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        response.ContentType = "application/json";
        // Relaxed escaping: messages quote user input ('model'), and \u0027 would make them hard to read.
        await using var json = new Utf8JsonWriter(response.Body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", Message);
        json.WriteString("type", type);
        if (param is null) json.WriteNull("param");
        else json.WriteString("param", param);
        if (code is null) json.WriteNull("code");
        else json.WriteString("code", code);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
