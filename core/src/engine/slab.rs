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

/// A slab whose vacant slots remember their next generation.
pub(crate) struct Slab<K, T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    len: usize,
    _key: std::marker::PhantomData<K>,
}

impl<K: SlotId, T> Slab<K, T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            _key: std::marker::PhantomData,
        }
    }

    /// The id the next [`insert`](Self::insert) will return.
    pub(crate) fn vacant_id(&self) -> K {
        match self.free.last() {
            Some(&index) => K::new(index, self.slots[index as usize].0),
            // More than u32::MAX live channels cannot exist: each holds a socket.
            None => K::new(self.slots.len() as u32, 0),
        }
    }

    pub(crate) fn insert(&mut self, value: T) -> K {
        let id = self.vacant_id();
        match self.free.pop() {
            Some(index) => self.slots[index as usize].1 = Some(value),
            None => self.slots.push((0, Some(value))),
        }
        self.len += 1;
        id
    }

    pub(crate) fn get(&self, id: K) -> Option<&T> {
        match self.slots.get(id.index() as usize) {
            Some((generation, value)) if *generation == id.generation() => value.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, id: K) -> Option<&mut T> {
        match self.slots.get_mut(id.index() as usize) {
            Some((generation, value)) if *generation == id.generation() => value.as_mut(),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, id: K) -> Option<T> {
        let (generation, value) = self.slots.get_mut(id.index() as usize)?;
        if *generation != id.generation() || value.is_none() {
            return None;
        }
        *generation = generation.wrapping_add(1);
        self.free.push(id.index());
        self.len -= 1;
        value.take()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The live entries with their ids, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &T)> {
        let slots = self.slots.iter().enumerate();
        // Slot indexes fit in u32: see vacant_id.
        slots.filter_map(|(i, (generation, value))| {
            Some((K::new(i as u32, *generation), value.as_ref()?))
        })
    }

    /// The ids of all live entries, in slot order.
    pub(crate) fn ids(&self) -> Vec<K> {
        let live = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, (_, value))| value.is_some());
        // Slot indexes fit in u32: see vacant_id.
        live.map(|(index, (generation, _))| K::new(index as u32, *generation))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_gets_a_new_generation_and_stale_ids_miss() {
        let mut slab: Slab<ChannelId, &str> = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.vacant_id().index, a.index);
        let b = slab.insert("b");
        assert_eq!(b.index, a.index);
        assert_ne!(a, b);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
    }
}
