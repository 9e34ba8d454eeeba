using RepShift.Models;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>What a model source yields: the encoder weights, its tokenizer and a name for messages.</summary>
public sealed record ModelBundle(string Name, BertWeights Weights, BertTextTokenizer Tokenizer);
