package dev.postern.cli;

import dev.postern.client.PortMappingProtocol;
import dev.postern.core.net.IpLiteral;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parsers for option values; each refuses what the server could not use, with a message saying why. */
final class Converters {

    private Converters() {}

    /** A positive duration: {@code 30s}, {@code 250ms}, {@code 1.5s}, {@code 3m}, {@code 1h}, or ISO-8601 {@code PT30S}. */
    static final class PositiveDuration implements ITypeConverter<Duration> {
        private static final Pattern SIMPLE = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

        @Override
        public Duration convert(String text) {
            String t = text.strip().toLowerCase(Locale.ROOT);
            Duration d;
            Matcher m = SIMPLE.matcher(t);
            if (m.matches()) {
                BigDecimal amount = new BigDecimal(m.group(1));
                long nanosPerUnit = switch (m.group(2)) {
                    case "ms" -> 1_000_000L;
                    case "s" -> 1_000_000_000L;
                    case "m" -> 60_000_000_000L;
                    default -> 3_600_000_000_000L;
                };
                d = Duration.ofNanos(amount.multiply(BigDecimal.valueOf(nanosPerUnit)).longValue());
            } else if (t.startsWith("pt")) {
                try {
                    d = Duration.parse(t);
                } catch (java.time.format.DateTimeParseException e) {
                    throw new TypeConversionException("'" + text + "' is not a duration (e.g. 30s, 250ms, 3m)");
                }
            } else {
                throw new TypeConversionException("'" + text + "' is not a duration (e.g. 30s, 250ms, 3m)");
            }
            if (d.isNegative() || d.isZero()) {
                throw new TypeConversionException("'" + text + "' must be longer than zero");
            }
            return d;
        }
    }

    /** A port, or "off" (-1): for listeners a user may not want. */
    static final class PortOrOff implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return text.strip().equalsIgnoreCase("off") ? -1 : new Port().convert(text);
        }
    }

    /** {@code auto} (every protocol), {@code off} (none), or some of {@code pcp}, {@code nat-pmp}, {@code upnp}, comma-separated. */
    static final class PortMappingProtocols implements ITypeConverter<PortMappingChoice> {
        @Override
        public PortMappingChoice convert(String text) {
            String t = text.strip().toLowerCase(Locale.ROOT);
            if (t.equals("auto")) {
                return new PortMappingChoice(EnumSet.allOf(PortMappingProtocol.class));
            }
            Set<PortMappingProtocol> out = EnumSet.noneOf(PortMappingProtocol.class);
            if (t.equals("off")) {
                return new PortMappingChoice(out);
            }
            for (String part : t.split(",")) {
                out.add(switch (part.strip()) {
                    case "pcp" -> PortMappingProtocol.PCP;
                    case "nat-pmp", "natpmp" -> PortMappingProtocol.NAT_PMP;
                    case "upnp" -> PortMappingProtocol.UPNP;
                    default -> throw new TypeConversionException("'" + part.strip() + "' is not a port mapping protocol: "
                            + "auto, off, or some of pcp, nat-pmp, upnp (comma-separated)");
                });
            }
            return new PortMappingChoice(out);
        }
    }

    /** A port 0..65535; 0 lets the system choose. */
    static final class Port implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return wholeNumber(text, 0, 65535);
        }
    }

    /** A positive count; {@code 2_000_000} may be written with underscores. */
    static final class PositiveInt implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return wholeNumber(text, 1, Integer.MAX_VALUE);
        }
    }

    /** A positive size, such as {@code 16777216} or {@code 16_777_216}. */
    static final class PositiveLong implements ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            long n;
            try {
                n = Long.parseLong(text.strip().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + text + "' is not a whole number");
            }
            if (n < 1) {
                throw new TypeConversionException(n + " must be positive");
            }
            return n;
        }
    }

    /** A forwarding byte rate: at least one largest forwarded packet a second, so a packet can ever pass. */
    static final class ForwardRate implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return wholeNumber(text, dev.postern.core.forward.ForwardFrames.MAX_PACKET, Integer.MAX_VALUE);
        }
    }

    /** A count that may be zero. */
    static final class NonNegativeInt implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return wholeNumber(text, 0, Integer.MAX_VALUE);
        }
    }

    /** Ports {@code first..last}; 0-0 means ports the system chooses. */
    record Ports(int first, int last) {}

    /** A port range {@code FIRST-LAST} of at least two ports, or {@code 0} for ports the system chooses. */
    static final class PortRange implements ITypeConverter<Ports> {
        @Override
        public Ports convert(String text) {
            String t = text.strip();
            if (t.equals("0")) {
                return new Ports(0, 0);
            }
            int dash = t.indexOf('-');
            if (dash < 0) {
                throw new TypeConversionException("'" + text + "' is not a port range such as 40000-40999 (or 0)");
            }
            int first = wholeNumber(t.substring(0, dash), 1, 65535);
            int last = wholeNumber(t.substring(dash + 1), 1, 65535);
            if (last <= first) {
                throw new TypeConversionException("'" + text + "' must hold at least two ports, first below last");
            }
            return new Ports(first, last);
        }
    }

    /** A positive rate, such as {@code 20} or {@code 0.5}. */
    static final class PositiveRate implements ITypeConverter<Double> {
        @Override
        public Double convert(String text) {
            double d;
            try {
                d = Double.parseDouble(text.strip());
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + text + "' is not a number");
            }
            if (!(d > 0) || Double.isInfinite(d)) {
                throw new TypeConversionException("'" + text + "' must be a positive number");
            }
            return d;
        }
    }

    private static int wholeNumber(String text, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(text.strip().replace("_", ""));
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + text + "' is not a whole number");
        }
        if (n < min || n > max) {
            throw new TypeConversionException(n + " is outside " + min + ".." + max);
        }
        return n;
    }

    /** An IP address literal; names are refused so that binding never waits on DNS. */
    static final class IpAddress implements ITypeConverter<InetAddress> {
        @Override
        public InetAddress convert(String text) {
            return IpLiteral.parse(text).toOptional().orElseThrow(() ->
                    new TypeConversionException("'" + text + "' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)"));
        }
    }
}
