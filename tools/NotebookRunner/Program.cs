Console.WriteLine("nbrun: not yet implemented"); return 1;
