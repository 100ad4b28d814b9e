using VllmSharp.Cli;

return CliApp.Run(args);
