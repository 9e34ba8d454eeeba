using RepShift.Evaluation;

namespace RepShift.Tests;

/// <summary>The evaluations end to end on a few texts with the embedded model: what gets embedded and what is counted.</summary>
public class EvaluationRunTests
{
    private static readonly TextEmbedder Embedder = TextEmbedder.Load(options: new EmbedderOptions { MaxTokens = 16, BatchSize = 3 });

    private static long TokensOf(IEnumerable<string> texts) => texts.Sum(t => (long)Embedder.Tokenize(t).Ids.Length);

    [Fact]
    public void Sts_counts_the_tokens_of_each_distinct_sentence_once()
    {
        var pairs = new[]
        {
            new ScoredPair("A man is playing a guitar.", "Someone plays an instrument.", 4.5),
            new ScoredPair("A man is playing a guitar.", "The stock market fell sharply today.", 1.0),
            new ScoredPair("A dog runs across the park.", "A dog is running outside.", 4.8),
        };
        var evaluation = new StsEvaluation(pairs);
        var report = evaluation.Run(Embedder);
        Assert.Equal(5, report.Sentences);
        Assert.Equal(3, report.Pairs);
        Assert.Equal(TokensOf(evaluation.Sentences), report.Work.Tokens);
        Assert.Equal(report.Work.Tokens * Embedder.Encoder.Config.Layers, report.Work.TokenLayers);
        Assert.InRange(report.Spearman, -1, 1);
    }

    [Fact]
    public void Retrieval_counts_query_and_document_tokens_and_truncation()
    {
        // The third document is longer than 16 tokens and gets truncated.
        var items = new[]
        {
            new QueryDocument("1", "Bank merger", "Two of the largest banks in the country agreed to join."),
            new QueryDocument("2", "New phone folds", "The new phone folds in half and fits in a pocket."),
            new QueryDocument("3", "Cup final", "The home side won the cup final after extra time, with a late goal from the captain in front of a full stadium."),
        };
        var report = new RetrievalEvaluation(items).Run(Embedder);
        Assert.Equal(TokensOf(items.Select(i => i.Query)), report.QueryTokens);
        Assert.Equal(TokensOf(items.Select(i => i.Document)), report.DocumentTokens);
        Assert.Equal(report.QueryTokens + report.DocumentTokens, report.Work.Tokens);
        Assert.Equal(6, report.Work.Texts);
        Assert.Equal(1, report.Work.Truncated);
        Assert.Equal(3, report.Scores.Queries);
    }

    [Fact]
    public void Topics_embed_every_document_and_check_k()
    {
        var docs = new[]
        {
            new LabelledText("sport", "The striker scored twice in the second half.", "a"),
            new LabelledText("sport", "The team won the league on the final day.", "b"),
            new LabelledText("tech", "The new chip doubles battery life in laptops.", "c"),
            new LabelledText("tech", "The software update fixes a security flaw.", "d"),
        };
        var report = new TopicEvaluation(docs, k: 1).Run(Embedder);
        Assert.Equal(4, report.Documents);
        Assert.Equal(2, report.Labels);
        Assert.Equal(TokensOf(docs.Select(d => d.Text)), report.Work.Tokens);
        Assert.Throws<RepShiftException>(() => new TopicEvaluation(docs, k: 4));
    }
}
