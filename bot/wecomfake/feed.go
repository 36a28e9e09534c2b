package wecomfake

import "sync"

// feed calls its subscribers with every accepted message: a name (a webhook key, or a
// chat for the gateway) and the message body.
type feed struct {
	mu     sync.RWMutex // held for reading while subscribers are called
	nextID int
	subs   map[int]func(name string, body []byte)
}

// subscribe adds fn until cancel is called; after cancel returns fn is not called any more.
func (f *feed) subscribe(fn func(name string, body []byte)) (cancel func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[int]func(string, []byte){}
	}
	id := f.nextID
	f.nextID++
	f.subs[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			delete(f.subs, id)
		})
	}
}

// publish calls every subscriber with a copy of body.
func (f *feed) publish(name string, body []byte) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, fn := range f.subs {
		fn(name, append([]byte(nil), body...))
	}
}
