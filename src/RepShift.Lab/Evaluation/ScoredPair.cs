namespace RepShift.Evaluation;

/// <summary>Two sentences and a human similarity or relatedness score.</summary>
public sealed record ScoredPair(string SentenceA, string SentenceB, double Score);
