using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RepShift.Cli.Serve;

/// <summary>
/// Makes every answer the framework gives without our handlers an OpenAI-shaped JSON error too: 404 and 405 from
/// routing, 500 for a bug, and header limits checked here (431) below Kestrel's own, so that only requests past
/// Kestrel's hard limits (<see cref="KestrelHeaderBytes"/>, <see cref="KestrelHeaderCount"/>,
/// <see cref="KestrelRequestLine"/>) or malformed at the HTTP level get Kestrel's bodiless refusal.
/// </summary>
internal static class ErrorPages
{
    /// <summary>Header bytes (names, values and separators) a request may carry; more is 431 with a JSON body.</summary>
    public const int MaxHeaderBytes = 32 * 1024;

    /// <summary>Headers a request may carry; more is 431 with a JSON body.</summary>
    public const int MaxHeaderCount = 100;

    /// <summary>Characters of path and query; more is 414 with a JSON body.</summary>
    public const int MaxTargetLength = 8 * 1024;

    /// <summary>Kestrel's limits, set above ours: past them Kestrel refuses before any middleware runs, with no body.</summary>
    public const int KestrelHeaderBytes = 64 * 1024, KestrelHeaderCount = 200, KestrelRequestLine = 16 * 1024;

    public static void ConfigureKestrel(KestrelServerOptions kestrel, ServeOptions options)
    {
        kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = KestrelHeaderBytes;
        kestrel.Limits.MaxRequestHeaderCount = KestrelHeaderCount;
        kestrel.Limits.MaxRequestLineSize = KestrelRequestLine;
    }

    /// <summary>Adds the middleware; call before routing so its checks run first and its pages wrap every endpoint.</summary>
    public static void Use(WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // The handler answers; the framework still logs the exception, which is a bug worth its stack trace.
            ExceptionHandler = context => ApiError.ForStatus(StatusCodes.Status500InternalServerError, context.Request).WriteAsync(context.Response),
        });
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            string? allow = http.Response.Headers.Allow is { Count: > 0 } a ? a.ToString() : null;
            return ApiError.ForStatus(http.Response.StatusCode, http.Request, allow).WriteAsync(http.Response);
        });
        app.Use(async (context, next) =>
        {
            if (Refusal(context.Request) is { } error)
            {
                await error.WriteAsync(context.Response);
                return;
            }
            await next(context);
        });
    }

    private static ApiError? Refusal(HttpRequest request)
    {
        int count = 0;
        long bytes = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                count++;
                // "Name: value\r\n", as Kestrel counts them.
                bytes += name.Length + (value?.Length ?? 0) + 4;
            }
        }
        if (count > MaxHeaderCount)
            return new ApiError(StatusCodes.Status431RequestHeaderFieldsTooLarge, $"the request has {count} headers; this server takes at most {MaxHeaderCount}");
        if (bytes > MaxHeaderBytes)
            return new ApiError(StatusCodes.Status431RequestHeaderFieldsTooLarge, $"the request headers take {bytes} bytes; this server takes at most {MaxHeaderBytes}");
        long target = (request.Path.Value?.Length ?? 0) + (request.QueryString.Value?.Length ?? 0);
        if (target > MaxTargetLength)
            return new ApiError(StatusCodes.Status414UriTooLong, $"the request path and query take {target} characters; this server takes at most {MaxTargetLength}");
        return null;
    }
}
