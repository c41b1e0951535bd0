package dev.postern.server.rendezvous.store;

import java.util.function.BiConsumer;

/**
 * A hashed timer wheel over intrusive nodes: scheduling, rescheduling and cancelling are O(1) and
 * allocate nothing, which is what keeps the per-pulse cost flat with millions of clients.
 *
 * <p>A node lives in the slot of its deadline's tick. {@link #poll} walks the slots of the ticks that
 * have passed and hands over nodes whose deadline has come; nodes of a later round stay put. Not
 * thread-safe: the owner serialises access.
 */
final class ExpiryWheel {

    /** Intrusive links; a subclass is the thing that expires. */
    abstract static class Node {
        private Node next;
        private Node prev;
        private long deadline;
        private int slot = -1;

        final boolean scheduled() {
            return slot >= 0;
        }

        final long deadline() {
            return deadline;
        }
    }

    private final long tickNanos;
    private final long origin;
    private final Node[] slots;
    private final int mask;
    /** The last tick whose slot has been walked for good. */
    private long polledTick;
    private int size;

    /**
     * @param tickNanos  the resolution: a node is handed over at most one tick after its deadline
     * @param slotCount  rounded up to a power of two; cover the usual deadline span to avoid walking
     *                   nodes of later rounds
     */
    ExpiryWheel(long tickNanos, int slotCount, long now) {
        if (tickNanos <= 0) {
            throw new IllegalArgumentException("tick must be positive");
        }
        int n = Integer.highestOneBit(Math.max(1, slotCount - 1)) << 1;
        this.tickNanos = tickNanos;
        this.origin = now;
        this.slots = new Node[n];
        this.mask = n - 1;
        this.polledTick = tickOf(now) - 1;
    }

    int size() {
        return size;
    }

    /** Schedules (or moves) {@code node} to fire once {@code deadline} has passed. */
    void schedule(Node node, long deadline) {
        if (node.scheduled()) {
            unlink(node);
        }
        // A deadline in an already-walked tick would wait a whole round: put it in the next tick to walk.
        long tick = Math.max(tickOf(deadline), polledTick + 1);
        int slot = (int) (tick & mask);
        node.deadline = deadline;
        node.slot = slot;
        node.prev = null;
        node.next = slots[slot];
        if (node.next != null) {
            node.next.prev = node;
        }
        slots[slot] = node;
        size++;
    }

    void cancel(Node node) {
        if (node.scheduled()) {
            unlink(node);
        }
    }

    /**
     * Hands every node whose deadline is at or before {@code now} to {@code onDue}, unscheduled; the
     * handler may schedule it again. Returns how many were handed over.
     */
    <N extends Node> int poll(long now, Class<N> type, BiConsumer<N, Long> onDue) {
        long nowTick = tickOf(now);
        long from = Math.max(polledTick + 1, nowTick - mask);
        int fired = 0;
        for (long tick = from; tick <= nowTick; tick++) {
            Node node = slots[(int) (tick & mask)];
            while (node != null) {
                Node next = node.next;
                if (node.deadline - now <= 0) {
                    unlink(node);
                    onDue.accept(type.cast(node), now);
                    fired++;
                }
                node = next;
            }
        }
        // The current tick is only partly over: walk it again next time for the nodes still due in it.
        polledTick = Math.max(polledTick, nowTick - 1);
        return fired;
    }

    private long tickOf(long time) {
        return Math.floorDiv(time - origin, tickNanos);
    }

    private void unlink(Node node) {
        if (node.prev != null) {
            node.prev.next = node.next;
        } else {
            slots[node.slot] = node.next;
        }
        if (node.next != null) {
            node.next.prev = node.prev;
        }
        node.next = null;
        node.prev = null;
        node.slot = -1;
        size--;
    }
}
