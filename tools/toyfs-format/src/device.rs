// SPDX-License-Identifier: GPL-2.0
//! Where an image lives: a file or block device, or memory for tests.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// Byte-addressed storage holding a toyfs image.
pub trait BlockDevice {
    /// Fills `buf` from `offset`; reading past the end is an error.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Size of the storage in bytes.
    fn size(&self) -> io::Result<u64>;
}

/// An image held in memory, of fixed size.
#[derive(Clone, Debug)]
pub struct MemoryDevice {
    bytes: Vec<u8>,
}

impl MemoryDevice {
    /// A zero-filled image of `size` bytes.
    pub fn new(size: usize) -> Self {
        Self {
            bytes: vec![0; size],
        }
    }

    /// An image holding `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The image bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image bytes, for tests that damage them.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    fn range(&self, offset: u64, len: usize) -> io::Result<std::ops::Range<usize>> {
        let start = usize::try_from(offset).map_err(|_| past_end(offset, len))?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| past_end(offset, len))?;
        if end > self.bytes.len() {
            return Err(past_end(offset, len));
        }
        Ok(start..end)
    }
}

fn past_end(offset: u64, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{len} bytes at offset {offset} are past the end of the image"),
    )
}

impl BlockDevice for MemoryDevice {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let range = self.range(offset, buf.len())?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let range = self.range(offset, data.len())?;
        self.bytes[range].copy_from_slice(data);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }
}

/// An image file or a block device.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
}

impl FileDevice {
    /// Wraps an open file or block device.
    pub fn new(file: File) -> Self {
        Self { file }
    }

    /// The file back, e.g. to sync it.
    pub fn into_file(self) -> File {
        self.file
    }
}

impl BlockDevice for FileDevice {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|error| {
            if error.kind() == io::ErrorKind::UnexpectedEof {
                past_end(offset, buf.len())
            } else {
                error
            }
        })
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn size(&self) -> io::Result<u64> {
        // A block device's metadata length is 0; seeking to its end gives its size.
        (&self.file).seek(SeekFrom::End(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_device_refuses_access_past_its_end() {
        let mut device = MemoryDevice::new(16);
        device.write_at(12, &[1, 2, 3, 4]).unwrap();
        let mut buf = [0u8; 4];
        device.read_at(12, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        let error = device.read_at(13, &mut buf).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert!(device.write_at(u64::MAX, &[0]).is_err());
        assert_eq!(device.size().unwrap(), 16);
    }
}
