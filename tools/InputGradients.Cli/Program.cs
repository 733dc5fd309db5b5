using InputGradients.Cli;

return Cli.Run(args);
