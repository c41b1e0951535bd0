package dev.postern.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code postern} command. */
@Command(name = "postern",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        subcommands = {ServerCommand.class, NodeCommand.class, ConnectCommand.class, ListenCommand.class, NatCheckCommand.class,
            SocketCommand.class,
            SubscribeCommand.class, KeygenCommand.class, TurnCredentialsCommand.class, SelftestCommand.class,
            CommandLine.HelpCommand.class},
        description = {
            "Postern opens sockets between programs behind NATs and firewalls.",
            "One daemon (rendezvous, mediator, relay, nodes' control channel) and one Java library."
        },
        footer = {"", "Run 'postern COMMAND --help' for a command's options."})
public final class Main implements Runnable {

    /** Exit status for a bad flag, argument or config file: the user must change the command line. */
    static final int EXIT_USAGE = 2;
    /** Exit status for a failure at run time, such as a port already in use. */
    static final int EXIT_FAILURE = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line and returns its exit status; never calls {@link System#exit}. */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, ignored) -> {
            err.println("postern: " + e.getMessage());
            err.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help' for more.");
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof UsageError usage) {
                err.println("postern: " + usage.getMessage());
                return EXIT_USAGE;
            }
            if (e instanceof CommandFailure failure) {
                err.println("postern: " + failure.getMessage());
                return EXIT_FAILURE;
            }
            err.println("postern: unexpected error: " + e);
            e.printStackTrace(err);
            return EXIT_FAILURE;
        });
        try {
            configFileOf(args).ifPresent(path ->
                    ServerCommand.applyConfigFile(cli.getSubcommands().get("server"), ConfigFile.load(path)));
        } catch (UsageError e) {
            err.println("postern: " + e.getMessage());
            return EXIT_USAGE;
        }
        return cli.execute(args);
    }

    /**
     * The config file named on a {@code server} command line. It is read before picocli parses, since
     * its settings become the options' defaults, which the flags then override.
     */
    static Optional<Path> configFileOf(String[] args) {
        int i = 0;
        while (i < args.length && !args[i].equals("server")) {
            i++;
        }
        for (i++; i < args.length && !args[i].equals("--"); i++) {
            String a = args[i];
            if ((a.equals("-c") || a.equals("--config")) && i + 1 < args.length) {
                return Optional.of(Path.of(args[i + 1]));
            }
            if (a.startsWith("--config=")) {
                return Optional.of(Path.of(a.substring("--config=".length())));
            }
            if (a.startsWith("-c") && a.length() > 2 && !a.startsWith("--")) {
                return Optional.of(Path.of(a.substring(a.charAt(2) == '=' ? 3 : 2)));
            }
        }
        return Optional.empty();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    /** The version from the jar's manifest; "development" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"postern " + (v == null ? "development" : v),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
