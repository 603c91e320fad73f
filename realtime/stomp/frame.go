package stomp

// Commands of STOMP 1.2. The first eleven are sent by clients, the last four
// by servers.
const (
	CommandConnect     = "CONNECT"
	CommandStomp       = "STOMP"
	CommandSend        = "SEND"
	CommandSubscribe   = "SUBSCRIBE"
	CommandUnsubscribe = "UNSUBSCRIBE"
	CommandAck         = "ACK"
	CommandNack        = "NACK"
	CommandBegin       = "BEGIN"
	CommandCommit      = "COMMIT"
	CommandAbort       = "ABORT"
	CommandDisconnect  = "DISCONNECT"

	CommandConnected = "CONNECTED"
	CommandMessage   = "MESSAGE"
	CommandReceipt   = "RECEIPT"
	CommandError     = "ERROR"
)

// maxCommandLen is the length of the longest command, UNSUBSCRIBE. A command
// line that has not ended within this many octets (plus its EOL) is no
// command at all, so the parser gives up without buffering more of it.
const maxCommandLen = len(CommandUnsubscribe)

// clientCommand returns the command constant spelled by b, or "" when b is
// not a client command. It does not allocate.
func clientCommand(b []byte) string {
	switch string(b) {
	case CommandConnect:
		return CommandConnect
	case CommandStomp:
		return CommandStomp
	case CommandSend:
		return CommandSend
	case CommandSubscribe:
		return CommandSubscribe
	case CommandUnsubscribe:
		return CommandUnsubscribe
	case CommandAck:
		return CommandAck
	case CommandNack:
		return CommandNack
	case CommandBegin:
		return CommandBegin
	case CommandCommit:
		return CommandCommit
	case CommandAbort:
		return CommandAbort
	case CommandDisconnect:
		return CommandDisconnect
	}
	return ""
}

// serverCommand returns the command constant spelled by b, or "" when b is
// not a server command. It does not allocate.
func serverCommand(b []byte) string {
	switch string(b) {
	case CommandConnected:
		return CommandConnected
	case CommandMessage:
		return CommandMessage
	case CommandReceipt:
		return CommandReceipt
	case CommandError:
		return CommandError
	}
	return ""
}

// knownCommand reports whether cmd is one of the fifteen STOMP commands.
func knownCommand(cmd string) bool {
	switch cmd {
	case CommandConnect, CommandStomp, CommandSend, CommandSubscribe, CommandUnsubscribe,
		CommandAck, CommandNack, CommandBegin, CommandCommit, CommandAbort, CommandDisconnect,
		CommandConnected, CommandMessage, CommandReceipt, CommandError:
		return true
	}
	return false
}

// bodyAllowed reports whether frames of command cmd may carry a body: "Only
// the SEND, MESSAGE, and ERROR frames MAY have a body. All other frames MUST
// NOT have a body."
func bodyAllowed(cmd string) bool {
	return cmd == CommandSend || cmd == CommandMessage || cmd == CommandError
}

// Header is one header entry of a frame, decoded (unescaped).
type Header struct {
	Key   string
	Value string
}

// Frame is one STOMP frame. Headers keep the order and repetitions of the
// wire; when a key repeats, the first entry is the header's value and later
// ones are history (STOMP 1.2, "Repeated Header Entries"). Body is nil when
// the frame has none.
//
// A Frame returned by a Parser shares no memory with the parser's input.
type Frame struct {
	Command string
	Headers []Header
	Body    []byte
}

// Get returns the value of the first header entry named key, and whether
// there is one.
func (f *Frame) Get(key string) (string, bool) {
	for _, h := range f.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return "", false
}

// Set makes value the value of header key: it replaces the first entry
// named key in place, removes later entries of that name, or, when there is
// none, appends one.
func (f *Frame) Set(key, value string) {
	i := f.index(key)
	if i < 0 {
		f.Headers = append(f.Headers, Header{key, value})
		return
	}
	f.Headers[i].Value = value
	kept := f.Headers[:i+1]
	for _, h := range f.Headers[i+1:] {
		if h.Key != key {
			kept = append(kept, h)
		}
	}
	clear(f.Headers[len(kept):])
	f.Headers = kept
}

// Add appends a header entry. If key is already present, the new entry is a
// repeat: it does not change what Get returns.
func (f *Frame) Add(key, value string) {
	f.Headers = append(f.Headers, Header{key, value})
}

// Del removes every entry named key.
func (f *Frame) Del(key string) {
	kept := f.Headers[:0]
	for _, h := range f.Headers {
		if h.Key != key {
			kept = append(kept, h)
		}
	}
	clear(f.Headers[len(kept):])
	f.Headers = kept
}

func (f *Frame) index(key string) int {
	for i, h := range f.Headers {
		if h.Key == key {
			return i
		}
	}
	return -1
}
