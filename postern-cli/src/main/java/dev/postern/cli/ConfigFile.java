package dev.postern.cli;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A config file: one {@code setting = value} per line, {@code #} starts a comment. A setting is a
 * long option of the command without its dashes ({@code rendezvous-udp-port = 5024} is
 * {@code --rendezvous-udp-port=5024}); options given on the command line win over the file.
 */
final class ConfigFile {

    /** Far beyond any real config; refusing larger files keeps a wrong path (a log, a disk image) harmless. */
    static final long MAX_BYTES = 1 << 20;
    private static final Pattern LINE = Pattern.compile("([a-z][a-z0-9-]*)\\s*=\\s*(.*)");

    /** A setting and the line it came from, for error messages. */
    record Entry(String key, String value, int line) {}

    private final Path path;
    private final Map<String, Entry> entries;

    private ConfigFile(Path path, Map<String, Entry> entries) {
        this.path = path;
        this.entries = entries;
    }

    static ConfigFile load(Path path) {
        List<String> lines;
        try {
            if (Files.size(path) > MAX_BYTES) {
                throw new UsageError("config file " + path + " is larger than " + MAX_BYTES + " bytes");
            }
            lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UsageError("config file " + path + " does not exist");
        } catch (MalformedInputException e) {
            throw new UsageError("config file " + path + " is not UTF-8 text");
        } catch (IOException e) {
            throw new UsageError("cannot read config file " + path + ": " + e.getMessage());
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = stripComment(lines.get(i)).strip();
            if (text.isEmpty()) {
                continue;
            }
            Matcher m = LINE.matcher(text);
            if (!m.matches()) {
                throw new UsageError(path + ":" + (i + 1) + ": expected 'setting = value', got '" + text + "'");
            }
            Entry entry = new Entry(m.group(1), m.group(2).strip(), i + 1);
            Entry earlier = entries.putIfAbsent(entry.key(), entry);
            if (earlier != null) {
                throw new UsageError(path + ":" + entry.line() + ": '" + entry.key() + "' is already set on line " + earlier.line());
            }
        }
        return new ConfigFile(path, entries);
    }

    Path path() {
        return path;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** The prefix for a message about {@code entry}: {@code path:line: }. */
    String where(Entry entry) {
        return path + ":" + entry.line() + ": ";
    }

    private static String stripComment(String line) {
        int hash = line.indexOf('#');
        return hash < 0 ? line : line.substring(0, hash);
    }
}
