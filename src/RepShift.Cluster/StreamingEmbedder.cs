using System.Diagnostics;
using RepShift.Cluster.Outputs;

namespace RepShift.Cluster;

/// <summary>Totals of a streamed run.</summary>
public sealed record StreamTotals(long Texts, long Tokens, long TokenLayers, long Truncated, double Seconds);

/// <summary>
/// Embeds a stream of records chunk by chunk: read a chunk, embed it (the engine packs it into its own batches),
/// hand it to the writer, forget it. Memory holds one chunk, whatever the input's length, and the output keeps
/// the input's order. Vectors equal a single call over all texts bit for bit: an embedding does not depend on the
/// batch it shares (EncoderTests.EmbeddingDoesNotDependOnBatchOrPosition).
/// </summary>
public static class StreamingEmbedder
{
    /// <summary>Texts per chunk: several full batches, so the engine's batches stay full, and a few MB of vectors.</summary>
    public const int DefaultChunk = 2048;

    /// <param name="embedder">The engine.</param>
    /// <param name="records">The input, read lazily.</param>
    /// <param name="writer">Receives each chunk's results, in order.</param>
    /// <param name="progress">Told the count done after every chunk.</param>
    /// <param name="chunk">Texts per chunk.</param>
    /// <param name="cancellation">Checked between batches.</param>
    /// <param name="prompt">The model's prompt every text takes (e.g. "query"), or none.</param>
    public static StreamTotals Run(TextEmbedder embedder, IEnumerable<InputRecord> records, EmbeddingWriter writer,
        Action<long>? progress = null, int chunk = DefaultChunk, CancellationToken cancellation = default, string? prompt = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        var clock = Stopwatch.StartNew();
        long index = 0, tokens = 0, tokenLayers = 0, truncated = 0;
        var pending = new List<InputRecord>(chunk);
        var texts = new List<string>(chunk);

        void Flush()
        {
            if (pending.Count == 0) return;
            var result = embedder.Embed(texts, cancellation: cancellation, prompt: prompt);
            writer.Write(pending, index, result);
            index += pending.Count;
            tokens += result.TotalTokens;
            tokenLayers += result.TotalTokenLayers;
            truncated += result.Truncated;
            pending.Clear();
            texts.Clear();
            progress?.Invoke(index);
        }

        foreach (var record in records)
        {
            if (!embedder.Tokenizer.HasWordPieces(record.Text))
            {
                long number = index + pending.Count + 1;
                string which = record.Id == (number - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) ? $"text {number}" : $"text {number} (id \"{record.Id}\")";
                throw new RepShiftException($"{which} is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to embed; remove the blank line or give it some words");
            }
            pending.Add(record);
            texts.Add(record.Text);
            if (pending.Count == chunk) Flush();
        }
        Flush();
        return new StreamTotals(index, tokens, tokenLayers, truncated, clock.Elapsed.TotalSeconds);
    }
}
