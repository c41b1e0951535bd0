package dev.postern.core.codec;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The result of decoding untrusted input: a value or the reason it was refused. Decoders return this
 * instead of throwing, so a caller cannot forget that input may be bad.
 */
public sealed interface Decoded<T> {

    record Ok<T>(T value) implements Decoded<T> {}

    record Bad<T>(DecodeError error) implements Decoded<T> {}

    static <T> Decoded<T> ok(T value) {
        return new Ok<>(value);
    }

    /** A shared instance per error: refusing input allocates nothing. */
    @SuppressWarnings("unchecked")
    static <T> Decoded<T> bad(DecodeError error) {
        return (Decoded<T>) Shared.BAD.get(error);
    }

    /** The value made into another, or the same refusal. */
    default <R> Decoded<R> map(Function<? super T, ? extends R> f) {
        return this instanceof Ok<T> ok ? ok(f.apply(ok.value())) : bad(((Bad<T>) this).error());
    }

    default Optional<T> toOptional() {
        return this instanceof Ok<T> ok ? Optional.of(ok.value()) : Optional.empty();
    }

    /** Shared holder, kept out of the interface's public surface. */
    final class Shared {
        private static final Map<DecodeError, Bad<?>> BAD = new EnumMap<>(DecodeError.class);

        static {
            for (DecodeError e : DecodeError.values()) {
                BAD.put(e, new Bad<>(e));
            }
        }

        private Shared() {}
    }
}
