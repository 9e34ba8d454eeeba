using RepShift.Models;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// What a model source yields: the encoder weights, its tokenizer, a name for messages, and its conventions
/// (pooling, normalisation, prompts). Built from weights alone, the conventions are those of the weights' config.
/// </summary>
public sealed record ModelBundle(string Name, BertWeights Weights, BertTextTokenizer Tokenizer)
{
    public ModelConventions Conventions { get; init; } = ModelConventions.Of(Weights.Config);
}
