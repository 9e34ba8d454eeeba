namespace RepShift.Cluster.Orleans;

/// <summary>
/// Lets a client keep trying to reach the cluster (Orleans gives up on the first failure by default): a front end
/// starts before its nodes and waits for them, answering 503 meanwhile.
/// </summary>
public sealed class RetryConnection : IClientConnectionRetryFilter
{
    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
