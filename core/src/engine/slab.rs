//! Slots with generations: ids are reused only with a new generation, so a stale id misses.

use crate::id::{ChannelId, TimerId};

/// An id made of a slot index and a generation.
pub(crate) trait SlotId: Copy {
    fn new(index: u32, generation: u32) -> Self;
    fn index(self) -> u32;
    fn generation(self) -> u32;
}

impl SlotId for ChannelId {
    fn new(index: u32, generation: u32) -> Self {
        Self { index, generation }
    }
    fn index(self) -> u32 {
        self.index
    }
    fn generation(self) -> u32 {
        self.generation
    }
}

impl SlotId for TimerId {
    fn new(index: u32, generation: u32) -> Self {
        Self { index, generation }
    }
    fn index(self) -> u32 {
        self.index
    }
    fn generation(self) -> u32 {
        self.generation
    }
}

/// A value that keeps its slot's generation itself, so that a slot is no bigger than its value
/// (a channel's slot is most of the memory of an idle connection).
pub(crate) trait Generational {
    fn generation(&self) -> u32;
    fn set_generation(&mut self, generation: u32);
}

/// A slot: its value, or the generation its next value gets. `Slot<Entry>` is as big as an
/// `Entry`: the tag fits in a niche of the entry's channel and the vacant generation beside it.
enum Slot<T> {
    Occupied(T),
    Vacant(u32),
}

/// A slab whose vacant slots remember their next generation.
pub(crate) struct Slab<K, T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
    /// The generation of a slot pushed anew: past every generation a slot that was cut off
    /// the end (see [`shrink`](Self::shrink)) ever had, so no stale id finds its successor.
    fresh: u32,
    _key: std::marker::PhantomData<K>,
}

impl<K: SlotId, T: Generational> Slab<K, T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            fresh: 0,
            _key: std::marker::PhantomData,
        }
    }

    /// The id the next [`insert`](Self::insert) will return.
    pub(crate) fn vacant_id(&self) -> K {
        match self.free.last() {
            Some(&index) => match self.slots[index as usize] {
                Slot::Vacant(generation) => K::new(index, generation),
                Slot::Occupied(_) => unreachable!("a free slot is vacant"),
            },
            // More than u32::MAX live channels cannot exist: each holds a socket.
            None => K::new(self.slots.len() as u32, self.fresh),
        }
    }

    pub(crate) fn insert(&mut self, mut value: T) -> K {
        let id = self.vacant_id();
        value.set_generation(id.generation());
        match self.free.pop() {
            Some(index) => self.slots[index as usize] = Slot::Occupied(value),
            None => self.slots.push(Slot::Occupied(value)),
        }
        self.len += 1;
        id
    }

    pub(crate) fn get(&self, id: K) -> Option<&T> {
        match self.slots.get(id.index() as usize) {
            Some(Slot::Occupied(value)) if value.generation() == id.generation() => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, id: K) -> Option<&mut T> {
        match self.slots.get_mut(id.index() as usize) {
            Some(Slot::Occupied(value)) if value.generation() == id.generation() => Some(value),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, id: K) -> Option<T> {
        let slot = self.slots.get_mut(id.index() as usize)?;
        match slot {
            Slot::Occupied(value) if value.generation() == id.generation() => {}
            _ => return None,
        }
        let next = Slot::Vacant(id.generation().wrapping_add(1));
        let Slot::Occupied(value) = std::mem::replace(slot, next) else {
            unreachable!("matched above")
        };
        self.free.push(id.index());
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many slots the table has room for.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Gives back the memory of the vacant slots at the end (after a burst of channels that
    /// closed), and of spare capacity.
    pub(crate) fn shrink(&mut self) {
        while let Some(Slot::Vacant(generation)) = self.slots.last() {
            self.fresh = self.fresh.max(*generation);
            self.slots.pop();
        }
        let len = self.slots.len();
        self.free.retain(|&index| (index as usize) < len);
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// The live entries with their ids, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &T)> {
        let slots = self.slots.iter().enumerate();
        // Slot indexes fit in u32: see vacant_id.
        slots.filter_map(|(i, slot)| match slot {
            Slot::Occupied(value) => Some((K::new(i as u32, value.generation()), value)),
            Slot::Vacant(_) => None,
        })
    }

    /// The ids of all live entries, in slot order.
    pub(crate) fn ids(&self) -> Vec<K> {
        self.iter().map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Named(&'static str, u32);

    impl Generational for Named {
        fn generation(&self) -> u32 {
            self.1
        }
        fn set_generation(&mut self, generation: u32) {
            self.1 = generation;
        }
    }

    #[test]
    fn a_reused_slot_gets_a_new_generation_and_stale_ids_miss() {
        let mut slab: Slab<ChannelId, Named> = Slab::new();
        let a = slab.insert(Named("a", 7));
        assert_eq!(a.generation, 0, "the slab gives the generation");
        assert_eq!(slab.remove(a), Some(Named("a", 0)));
        assert_eq!(slab.vacant_id().index, a.index);
        let b = slab.insert(Named("b", 0));
        assert_eq!(b.index, a.index);
        assert_ne!(a, b);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&Named("b", 1)));
        assert_eq!(slab.ids(), vec![b]);
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn a_slot_cut_off_the_end_comes_back_with_a_generation_no_stale_id_has() {
        let mut slab: Slab<ChannelId, Named> = Slab::new();
        let a = slab.insert(Named("a", 0));
        let b = slab.insert(Named("b", 0));
        slab.remove(b);
        slab.remove(a);
        slab.shrink();
        let c = slab.insert(Named("c", 0));
        assert_eq!(c.index, a.index);
        assert_eq!((slab.get(a), slab.get(b)), (None, None));
        let d = slab.insert(Named("d", 0));
        assert_eq!(d.index, b.index, "pushed anew");
        assert_eq!(slab.get(b), None, "with a generation past b's");
        assert_eq!(slab.get(d), Some(&Named("d", 1)));
    }

    /// A channel's slot is no bigger than its entry: the slab keeps no generation beside it.
    /// An idle connection's memory is mostly this slot (benches/servers.sh, "idle memory"):
    /// 184 bytes on 64-bit targets, a stream of 144.
    #[test]
    fn a_channel_slot_is_as_big_as_its_entry() {
        assert_eq!(
            size_of::<Slot<crate::engine::channel::Entry>>(),
            size_of::<crate::engine::channel::Entry>()
        );
        #[cfg(target_pointer_width = "64")]
        assert_eq!(
            (
                size_of::<crate::engine::channel::Entry>(),
                size_of::<crate::stream::Stream>()
            ),
            (184, 144)
        );
    }
}
