/*
 * A model of a push session's write role (transports/connwrite.go), for the
 * Spin model checker: check.sh runs it.
 *
 * What is modelled: senders queueing frames; Send's push (sendPush), which
 * writes one frame inline without waiting for the socket, may leave part
 * of it carried (pooledReadConn), or hands the role over when the session
 * is streaming; the other pushes (TrySend, Close, heartbeats: kick); the
 * write role as a claim (writing, a compare-and-swap); the parked flag
 * (set by a writer before it releases the role, cleared by a claimant that
 * then owes it the role through the one-slot channel wake, or by the
 * writer itself to retire); a new writer goroutine when none is parked;
 * the reaper, which may tell the parked writer to retire at any moment;
 * the open frame written inline by the upgrading request (flushInline).
 *
 * What is checked:
 *   - one writer at a time (nobody drains while another does);
 *   - carried bytes go out before any later frame (nobody writes a frame
 *     while bytes are carried);
 *   - a hand-over never blocks (the one-slot channel is empty);
 *   - at most one writer goroutine exists at once (holding the role or
 *     parked);
 *   - when nothing can move any more, every frame queued has been
 *     written, nothing is carried and no writer is left: no frame is left
 *     with nobody to write it, and every parked writer could retire.
 *
 * Mutations that check.sh expects to be caught (-DMUT_...):
 *   NORECHECK  release without looking for frames queued meanwhile;
 *   DROPCARRY  an inline write that left bytes carried releases the role;
 *   NOFLUSH    a writer writes frames before what is carried;
 *   NOCLEAR    a claimant hands the role over without clearing parked (the
 *              writer may retire with the role on its way: the old
 *              hand-over to a writer that was leaving);
 *   RETIRE     a parked writer told to retire leaves without clearing
 *              parked.
 */

#ifndef FRAMES
#define FRAMES 2 /* frames each sender queues */
#endif
#define MAXW (2 * FRAMES + 2) /* every push may start one */

byte pending = 1;   /* frames queued, not written: the open frame first */
byte written = 0;
bool carry = false; /* part of a frame accepted by a non-blocking write, not on the socket */
bool writing = false;  /* the write role */
byte draining = 0;
bool parked = false;
chan wake = [1] of { bit };
byte goroutines = 0; /* writer goroutines alive */
byte nw = 0;         /* writer goroutines started */

#define wanted (pending > 0)

inline cas(ok) {
	atomic {
		if
		:: !writing -> writing = true; ok = true
		:: else -> ok = false
		fi
	}
}

/* flush puts carried bytes on the socket (a blocking write flushes first) */
inline flush() {
#ifndef MUT_NOFLUSH
	atomic { if :: carry -> carry = false; written++ :: else -> skip fi }
#endif
	skip
}

/* drain writes until nothing is pending */
inline drain() {
	atomic { draining++; assert(draining == 1) }
	flush();
	do
	:: atomic { pending > 0 -> assert(!carry); pending--; written++ }
	:: atomic { pending == 0 -> break }
	od;
	draining--
}

/* handOver: the caller holds the role; the parked writer takes it, or a new one starts */
inline handOver() {
	atomic {
		if
#ifndef MUT_NOCLEAR
		:: parked -> parked = false; assert(len(wake) == 0); wake ! 1
#else
		:: parked -> assert(len(wake) == 0); wake ! 1
#endif
		:: else -> goroutines++; assert(goroutines == 1 && nw < MAXW); run Writer(); nw++
		fi
	}
}

inline kick() {
	cas(ok);
	if
	:: ok -> handOver()
	:: else -> skip
	fi
}

inline release() {
	writing = false;
#ifndef MUT_NORECHECK
	if
	:: wanted -> kick()
	:: else -> skip
	fi
#endif
}

proctype Writer() {
	bool ok;
	bit b;
loop:
	drain();
	parked = true;
	writing = false;
	if
	:: wanted -> cas(ok); if :: ok -> parked = false; goto loop :: else -> skip fi
	:: else -> skip
	fi;
end_parked:
	if
	:: wake ? b -> goto loop
	:: true -> skip /* the reaper's tick, or the session's end */
	fi;
#ifndef MUT_RETIRE
	atomic {
		if
		:: parked -> parked = false; goroutines--; goto retired
		:: else -> skip
		fi
	}
#else
	atomic { goroutines--; goto retired }
#endif
	wake ? b; /* a claimant cleared parked: the role is on its way */
	goto loop;
retired:
	skip
	/* the goroutine ends (it may become the background reader) */
}

/* Send: queue, then write inline unless the session is streaming */
proctype InlineSender() {
	byte n = 0;
	bool ok;
	do
	:: n < FRAMES ->
		n++;
		pending++;
		cas(ok);
		if
		:: ok ->
			if
			:: handOver() /* wrote less than inlineGap ago: batch */
			:: atomic { draining++; assert(draining == 1) };
				flush(); /* Write puts what is carried first */
				if
				:: atomic { pending > 0 -> assert(!carry); pending--; written++ }
				:: atomic { pending > 0 -> assert(!carry); pending--; carry = true } /* the socket took part */
				:: pending == 0 -> skip
				fi;
				draining--;
				if
#ifndef MUT_DROPCARRY
				:: carry -> handOver() /* a writer writes the rest first */
				:: !carry -> release()
#else
				:: true -> release()
#endif
				fi
			fi
		:: else -> skip
		fi
	:: n == FRAMES -> break
	od
}

/* TrySend, Close, heartbeats */
proctype Kicker() {
	byte n = 0;
	bool ok;
	do
	:: n < FRAMES -> n++; pending++; kick()
	:: n == FRAMES -> break
	od
}

/* the upgrading request writes the open frame inline */
proctype Upgrade() {
	bool ok;
	cas(ok);
	if
	:: ok -> drain(); release()
	:: else -> skip
	fi
}

/* When nothing can move any more, every frame was written. */
active proctype Check() {
	timeout -> assert(pending == 0 && !carry && written == 2 * FRAMES + 1)
}

init {
	atomic {
		run Upgrade();
		run InlineSender();
		run Kicker()
	}
}
