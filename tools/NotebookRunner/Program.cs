using NotebookRunner;

// Ctrl+C stops the running notebook's whole process tree before exiting.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    return await Cli.RunAsync(args, cancel: cancel.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("nbrun: cancelled");
    return 130;
}
